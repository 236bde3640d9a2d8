"""Console views: each takes the request and returns a :class:`~agent_console.pages.Page`."""
