"""*kubernetes*: cluster DNS for Services, EndpointSlices and Pods (the Kubernetes DNS specification)."""

from kdns.plugins.kubernetes import metrics as metrics  # registered when the plugin loads, as documented
from kdns.plugins.kubernetes import setup as setup
