-- Run once by the postgres image on a fresh data directory (/docker-entrypoint-initdb.d), in
-- POSTGRES_DB (quantum) as the superuser. The library itself is preloaded by the server's
-- `-c shared_preload_libraries=pg_stat_statements` (compose.yaml, k8s/20-postgres.yaml);
-- this makes the view the incident playbook queries exist:
--   SELECT query, mean_exec_time, calls FROM pg_stat_statements ORDER BY mean_exec_time DESC LIMIT 10;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
