"""Operations: file serving through the proxy, health, metrics, the worker heartbeat."""
