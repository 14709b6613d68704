import Foundation
import Testing

@testable import FanoutStorage

@Suite("AWS shared config file parsing")
struct CredentialConfigFileTests {
    @Test func readsSectionsPropertiesAndComments() throws {
        let text = """
            # a comment
            ; another comment
            [default]
            aws_access_key_id=AKIDEFAULT
              AWS_Secret_Access_Key   =   secret/with+slash=  # trailing comment
            region = eu-west-1;not-a-comment

            [profile   dev]
            region = us-west-2 ; trailing comment
            s3 =
              endpoint_url = http://127.0.0.1:9000
              addressing_style = path
            output = json
            [profile dev]
            output = text
            """
        let file = try AWSConfigFile(parsing: text, path: "/config")
        #expect(file["default"]?["aws_access_key_id"] == "AKIDEFAULT")
        #expect(file["default"]?["aws_secret_access_key"] == "secret/with+slash=")
        #expect(file["default"]?["region"] == "eu-west-1;not-a-comment")
        #expect(file["profile dev"]?["region"] == "us-west-2")
        #expect(file["profile dev"]?["s3.endpoint_url"] == "http://127.0.0.1:9000")
        #expect(file["profile dev"]?["s3.addressing_style"] == "path")
        #expect(file["profile dev"]?["output"] == "text")
        #expect(file.sections.count == 2)
    }

    @Test func malformedLineNamesFileAndLineButNotItsText() throws {
        let text = "[default]\naws_access_key_id = AKID\nsupersecretvalue\n"
        let error = try #require(throws: CredentialError.self) {
            try AWSConfigFile(parsing: text, path: "/home/me/.aws/credentials")
        }
        #expect(error.code == .invalidConfigFile)
        #expect(error.message.contains("/home/me/.aws/credentials, line 3"))
        #expect(!error.message.contains("supersecretvalue"))
    }

    @Test func propertyBeforeAnySectionIsAnError() throws {
        let error = try #require(throws: CredentialError.self) {
            try AWSConfigFile(parsing: "region = us-east-1\n[default]\n", path: "/c")
        }
        #expect(error.message.contains("line 1"))
    }

    @Test func unclosedSectionIsAnError() throws {
        let error = try #require(throws: CredentialError.self) {
            try AWSConfigFile(parsing: "[default\nregion = x\n", path: "/c")
        }
        #expect(error.code == .invalidConfigFile)
        #expect(error.message.contains("']'"))
    }

    @Test func missingFileLoadsAsNil() throws {
        let directory = try CredentialTempDirectory()
        #expect(try AWSConfigFile.load(path: directory.path + "/absent") == nil)
        let path = try directory.write("config", "[default]\nregion = ap-south-1\n")
        #expect(try AWSConfigFile.load(path: path)?["default"]?["region"] == "ap-south-1")
    }
}
