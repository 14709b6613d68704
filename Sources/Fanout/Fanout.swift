// The public face of Fanout: `import Fanout` brings the object stores, the HTTP client and the Kubernetes backend.
@_exported public import FanoutHTTP
@_exported public import FanoutStorage
@_exported public import FanoutCore
@_exported public import FanoutKubernetes
