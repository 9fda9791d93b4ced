# PyInstaller runtime hook: runs before any other code of the frozen app, so no import
# order can load onnxruntime before its telemetry is switched off (agent_assist.egress).
import agent_assist  # noqa: F401  importing the package sets the switches
