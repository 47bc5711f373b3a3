"""The asyncio HTTP server: protocols, request bodies, responses and the WSGI container."""
