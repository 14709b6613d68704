import FanoutSigV4
import Foundation

/// The credentials, endpoint and time used by the examples in AWS's S3 SigV4 documentation.
enum Fixtures {
    static let credentials = AWSCredentials(
        accessKeyID: "AKIAIOSFODNN7EXAMPLE",
        secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    )
    /// A session token with characters that need encoding in a query string.
    static let sessionToken = "IQoJb3JpZ2luX2VjEXAMPLE//token+with/slashes=="
    static let signer = SigV4Signer(credentials: credentials, region: "us-east-1")
    static let temporarySigner = SigV4Signer(
        credentials: AWSCredentials(
            accessKeyID: credentials.accessKeyID,
            secretAccessKey: credentials.secretAccessKey,
            sessionToken: sessionToken
        ),
        region: "us-east-1"
    )
    static let bucket = "https://examplebucket.s3.amazonaws.com"
    /// 20130524T000000Z
    static let date = Date(timeIntervalSince1970: 1_369_353_600)
    /// 20240229T235959Z, a leap day one second before midnight.
    static let leapDate = Date(timeIntervalSince1970: 1_709_251_199)

    static func url(_ string: String) -> URL {
        guard let url = URL(string: string) else {
            preconditionFailure("not a URL: \(string)")
        }
        return url
    }
}

extension Array where Element == (name: String, value: String) {
    /// Every value of the header `name`, compared without regard to case.
    func values(of name: String) -> [String] {
        filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    /// The single value of the header `name`, or `nil` if it is absent or repeated.
    func value(of name: String) -> String? {
        let found = values(of: name)
        return found.count == 1 ? found[0] : nil
    }
}

extension URL {
    /// The value of the query parameter `name`, decoded.
    func queryValue(_ name: String) -> String? {
        URLComponents(url: self, resolvingAgainstBaseURL: false)?.queryItems?.first { $0.name == name }?.value
    }
}

extension Data {
    /// Lowercase hexadecimal digits, two per byte.
    var hexString: String {
        map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
    }
}
