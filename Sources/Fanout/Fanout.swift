@_exported public import FanoutHTTP
