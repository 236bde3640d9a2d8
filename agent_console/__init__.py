"""Agent console: the call-center web console for agents and hospital admins (坐席工作台)."""
