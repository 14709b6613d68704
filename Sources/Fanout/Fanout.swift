// The public face of Fanout: `import Fanout` brings the object stores and the HTTP client.
@_exported public import FanoutHTTP
@_exported public import FanoutStorage
@_exported public import FanoutCore
