"""The service's client for people and scripts: `dbanalysis submit / status / result`.

It talks to a running service over HTTP only (the REST contract of POST /new, GET /status and
GET /getresult), never to its database or queue, so it works against any deployment.
"""
