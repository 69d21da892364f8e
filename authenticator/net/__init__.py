"""HTTP clients for the HEM (``hem.HemClient``) and the broker (``broker.BrokerClient``).

``transport`` is the only module that touches httpx and maps its failures to our errors;
``tls`` fetches and pins a HEM's own certificate.
"""
