"""*kubernetes*: cluster DNS for Services, EndpointSlices and Pods (the Kubernetes DNS specification)."""

from kdns.plugins.kubernetes import setup as setup
