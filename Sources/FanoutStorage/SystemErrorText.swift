import Foundation

/// The reason an error gives, in one line, for messages that already name what failed and where.
///
/// Errors of the operating system and of Foundation's file APIs (`POSIXError`, `CocoaError`, an `NSError` of either
/// domain) are described by the system's text for their `errno` ("no space left on device", "permission denied"),
/// never by a dump of their domain and user info. Any other error is described as it describes itself.
public enum SystemErrorText {
    /// The reason `error` gives, on one line.
    public static func reason(_ error: any Error) -> String {
        if let number = errorNumber(of: error) { return text(errno: number) }
        if let cocoa = cocoaError(error) {
            let described = cocoa.localizedDescription
            return oneLine(described.isEmpty ? "file system error \(cocoa.code.rawValue)" : described)
        }
        return oneLine("\(error)")
    }

    /// The reason `error` gives, on one line, after the path it names when it names one (a `CocoaError` of a file
    /// operation): "/data/out.txt: no space left on device".
    public static func describe(_ error: any Error) -> String {
        guard let path = cocoaError(error)?.filePath ?? cocoaError(error)?.url?.path else { return reason(error) }
        return "\(path): \(reason(error))"
    }

    /// Whether `error` is an error of the operating system or of Foundation's file APIs.
    public static func isSystemError(_ error: any Error) -> Bool {
        errorNumber(of: error) != nil || cocoaError(error) != nil
    }

    /// The `errno` value behind `error`, when it has one.
    public static func errorNumber(of error: any Error) -> Int32? {
        if let posix = error as? POSIXError { return posix.code.rawValue }
        if type(of: error) is NSError.Type, (error as NSError).domain == NSPOSIXErrorDomain {
            let native = error as NSError
            return Int32(truncatingIfNeeded: native.code)
        }
        guard let cocoa = cocoaError(error) else { return nil }
        if let underlying = cocoa.userInfo[NSUnderlyingErrorKey] as? NSError,
            underlying.domain == NSPOSIXErrorDomain
        {
            return Int32(truncatingIfNeeded: underlying.code)
        }
        switch cocoa.code {
        case .fileNoSuchFile, .fileReadNoSuchFile: return ENOENT
        case .fileReadNoPermission, .fileWriteNoPermission: return EACCES
        case .fileWriteOutOfSpace: return ENOSPC
        case .fileWriteVolumeReadOnly: return EROFS
        case .fileWriteFileExists: return EEXIST
        case .fileReadTooLarge: return EFBIG
        default: return nil
        }
    }

    /// The system's text for an `errno` value, starting lower case to read well after a colon.
    public static func text(errno number: Int32) -> String {
        let text = String(cString: strerror(number))
        return text.prefix(1).lowercased() + text.dropFirst()
    }

    private static func cocoaError(_ error: any Error) -> CocoaError? {
        if let cocoa = error as? CocoaError { return cocoa }
        if type(of: error) is NSError.Type, (error as NSError).domain == NSCocoaErrorDomain {
            let native = error as NSError
            return CocoaError(CocoaError.Code(rawValue: native.code), userInfo: native.userInfo)
        }
        return nil
    }

    private static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
