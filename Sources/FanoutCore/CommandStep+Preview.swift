import FanoutStorage

extension CommandStep {
    /// The arguments, program first, that the file at `key` gets: what `--dry-run` shows.
    ///
    /// - Parameters:
    ///   - path: what `{}` stands for; for a remote file, a stand-in for the download's temporary path.
    ///   - url: what `{url}` stands for.
    /// - Throws: ``CommandTemplateError`` when ``validate()`` would.
    public func commandLine(
        key: String, size: Int64, path: String, url: String
    ) throws(CommandTemplateError) -> [String] {
        try CommandTemplate(command).render { Self.value(of: $0, key: key, size: size, path: path, url: url) }
    }

    /// A placeholder's value for one file; all but `{}` and `{url}` come from the key.
    static func value(
        of placeholder: CommandTemplate.Placeholder, key: String, size: Int64, path: String, url: String
    ) -> String {
        switch placeholder {
        case .path: path
        case .key: key
        case .name: String(key.split(separator: "/").last ?? Substring(key))
        case .url: url
        case .size: String(size)
        case .keyWithoutExtension, .basename, .dirname, .stem: placeholder.derived(fromKey: key) ?? ""
        }
    }
}
