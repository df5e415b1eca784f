"""The planner for AI agents: an MCP server (stdio and the service's ``/mcp``) and its tools.

* :mod:`~quantum_planner.mcp.tools`: the tools (plan, replan, pareto, alternatives,
  get_tradeoffs, plan_status, get_plan, cancel_plan, explain_plan, validate_plan,
  list_backends) as transport-free
  specs with pydantic inputs and outputs; :mod:`~quantum_planner.mcp.ops` runs them
  over the job store.
* :mod:`~quantum_planner.mcp.server`: the MCP server (needs the ``mcp`` extra);
  :mod:`~quantum_planner.mcp.stdio` runs it for ``quantum-planner mcp``;
  :mod:`quantum_planner.service.mcp_endpoint` mounts it in the service at ``/mcp``
  (the service imports this package, never the reverse).

Importing this package imports nothing else: the SDK loads only with the server.
"""
