"""Server sides of AWS's wire protocols (json, rest-json, query), driven by botocore's shapes.

Each module is the inverse of botocore's client-side serializer and parser for its protocol:
``parse_request`` turns an HTTP request into the operation's keyword arguments and
``serialize_response`` / ``serialize_error`` turn a service's result or error into HTTP.
"""
