"""Real time: WebSocket channels to browsers and API clients."""
