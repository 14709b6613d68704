import Foundation
import Testing

@testable import FanoutStorage

@Suite("Region and endpoint resolution")
struct RegionResolutionTests {
    @Test func regionPrecedence() throws {
        let home = try CredentialTempDirectory()
        try home.write(".aws/config", "[default]\nregion = eu-central-1\n[profile x]\nregion = ap-northeast-1\n")
        var environment = AWSEnvironment(
            variables: ["AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "eu-west-3"], homeDirectory: home.path)

        #expect(try environment.region(explicit: "sa-east-1") == "sa-east-1")
        #expect(try environment.region(explicit: "  ") == "us-west-2")
        environment.variables["AWS_REGION"] = nil
        #expect(try environment.region() == "eu-west-3")
        environment.variables["AWS_DEFAULT_REGION"] = nil
        #expect(try environment.region() == "eu-central-1")
        environment.variables["AWS_PROFILE"] = "x"
        #expect(try environment.region() == "ap-northeast-1")
        environment.profile = "y"
        #expect(throws: CredentialError.self) { try environment.region() }
        #expect(try AWSEnvironment(variables: [:], homeDirectory: home.path + "/none").region() == .usEast1)
    }

    @Test func s3EndpointPrecedence() throws {
        let home = try CredentialTempDirectory()
        try home.write(
            ".aws/config",
            """
            [default]
            endpoint_url = http://profile.example:1
            services = local
            [services local]
            s3 =
              endpoint_url = http://services.example:2
            [profile plain]
            endpoint_url = http://plain.example:3
            """)
        var environment = AWSEnvironment(
            variables: ["AWS_ENDPOINT_URL_S3": "http://s3-env.example:4", "AWS_ENDPOINT_URL": "http://env.example:5"],
            homeDirectory: home.path)

        #expect(
            try environment.endpointURL(for: "s3", explicit: "https://explicit.example")?.host == "explicit.example")
        #expect(try environment.endpointURL(for: "s3")?.host == "s3-env.example")
        #expect(try environment.endpointURL(for: "sts")?.host == "env.example")
        environment.variables["AWS_ENDPOINT_URL_S3"] = nil
        #expect(try environment.endpointURL(for: "s3")?.host == "env.example")
        environment.variables["AWS_ENDPOINT_URL"] = nil
        #expect(try environment.endpointURL(for: "s3")?.absoluteString == "http://services.example:2")
        #expect(try environment.endpointURL(for: "sts")?.absoluteString == "http://profile.example:1")
        environment.profile = "plain"
        #expect(try environment.endpointURL(for: "s3")?.absoluteString == "http://plain.example:3")
        environment.variables["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true"
        #expect(try environment.endpointURL(for: "s3") == nil)
        #expect(try environment.endpointURL(for: "s3", explicit: "http://x.example")?.host == "x.example")

        let bare = AWSEnvironment(variables: [:], homeDirectory: home.path + "/none")
        #expect(try bare.endpointURL(for: "s3") == nil)
    }

    @Test func invalidEndpointNamesItsSource() throws {
        let environment = AWSEnvironment(
            variables: ["AWS_ENDPOINT_URL_S3": "minio:9000"], homeDirectory: "/nonexistent")
        let error = try #require(throws: CredentialError.self) { try environment.endpointURL(for: "s3") }
        #expect(error.code == .invalidEndpoint)
        #expect(error.message.contains("AWS_ENDPOINT_URL_S3"))
        #expect(error.message.contains("minio:9000"))
    }

    @Test func stsEndpointIsRegionalWhenARegionIsConfigured() throws {
        let nowhere = "/nonexistent-home"
        #expect(
            try AWSEnvironment(variables: [:], homeDirectory: nowhere).stsEndpoint().absoluteString
                == "https://sts.amazonaws.com")
        #expect(
            try AWSEnvironment(variables: ["AWS_REGION": "eu-west-1"], homeDirectory: nowhere).stsEndpoint()
                .absoluteString == "https://sts.eu-west-1.amazonaws.com")
        #expect(
            try AWSEnvironment(variables: ["AWS_DEFAULT_REGION": "cn-north-1"], homeDirectory: nowhere).stsEndpoint()
                .absoluteString == "https://sts.cn-north-1.amazonaws.com.cn")
        #expect(
            try AWSEnvironment(
                variables: ["AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:1"],
                homeDirectory: nowhere
            ).stsEndpoint().absoluteString == "http://127.0.0.1:1")
    }
}
