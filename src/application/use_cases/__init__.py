"""One use case per module: a class that takes ports in its constructor and one request in
`execute`."""
