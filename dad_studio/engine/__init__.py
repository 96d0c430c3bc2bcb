"""dad_studio.engine: the asyncio execution model (DAD_EXECUTION_MODEL.md).

    from dad_studio.engine import RunContext, FlowRunner, IsolatedExecution
    run_context = RunContext(root_component_id="demo", project_root=Path("."))
    run_context.setup_run(run_id_prefix="test")
    async with IsolatedExecution(run_context) as execution:
        result = await execution.run(FlowRunner(flow, run_context))

Kept light to import: no Qt, no model SDKs, no telemetry until a run with records starts.
"""

from dad_studio.engine.context import ExecutionContext, RunState
from dad_studio.engine.continuation import ContinuationError
from dad_studio.engine.isolation import IsolatedExecution
from dad_studio.engine.registry import ExecutorRegistry
from dad_studio.engine.run_context import InputRequest, RunContext
from dad_studio.engine.runner import AgentRunner, ComponentRunner, FlowRunner, RunResult, RunStream
from dad_studio.model.events import EventType
from dad_studio.model.results import Status

__all__ = [
    "AgentRunner",
    "ComponentRunner",
    "ContinuationError",
    "EventType",
    "ExecutionContext",
    "ExecutorRegistry",
    "FlowRunner",
    "InputRequest",
    "IsolatedExecution",
    "RunContext",
    "RunResult",
    "RunState",
    "RunStream",
    "Status",
]
