"""The exit screen (role exit): the satisfaction survey by the doors, 1-5 stars and the ticket number."""
