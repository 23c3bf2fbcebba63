import Foundation
public import TemoinArchive
public import TemoinCore
import TemoinVerify

/// The zip form of a bundle (Docs/export.md, "The zip form"): one folder named after the alert,
/// holding the bundle's files and nothing else; entries in byte order of their names (a folder,
/// written "name/", just before what it holds); stored; every entry dated at the export entry's
/// time. The same bundle always gives the same bytes.
public enum BundleZip {
    /// The zip of a bundle held in memory (`Exporter.exportZip`).
    public static func plan(
        alert: AlertID, created: Timestamp, files: [String: [UInt8]]
    ) throws(TemoinError)
        -> ZipWriter.Plan
    {
        try ZipWriter.plan(
            items(alert: alert.rawValue, names: Array(files.keys)) { .bytes(files[$0]!) }, modified: created)
    }

    /// The zip of a bundle folder written by `temoin export`: the files its manifest names, plus the
    /// manifest and its signature; alert and time from the manifest. Anything else in the folder
    /// is left out (`temoin-verify` on the folder would name it).
    public static func plan(folder: String) throws -> ZipWriter.Plan {
        let manifestPath = folder + "/manifest.json"
        guard let handle = FileHandle(forReadingAtPath: manifestPath) else {
            throw TemoinError(.inputNotFound, "the folder has no manifest.json: not a bundle", context: folder)
        }
        defer { try? handle.close() }
        let data = try handle.read(upToCount: (16 << 20) + 1) ?? Data()
        guard data.count <= 16 << 20 else {
            throw TemoinError(.inputTooLarge, "manifest.json over 16 MiB", context: manifestPath)
        }
        let manifest = try JSONDecoder().decode(ExportManifest.self, from: data)
        guard let created = Timestamp(rfc3339: manifest.created) else {
            throw TemoinError(.jsonInvalid, "manifest.json names no valid alert or time", context: manifestPath)
        }
        let names = Array(manifest.files.keys) + ["manifest.json", "manifest.json.p7s"]
        return try ZipWriter.plan(
            items(alert: manifest.alert.rawValue, names: names) { .file(path: folder + "/" + $0) }, modified: created)
    }

    /// "<alert>/", then every file and the folders they are in, in byte order of the names.
    static func items(alert: String, names: [String], content: (String) -> ZipWriter.Content) -> [ZipWriter.Item] {
        var items = [alert + "/": ZipWriter.Item(name: alert + "/", content: .directory)]
        for name in names {
            items[alert + "/" + name] = ZipWriter.Item(name: alert + "/" + name, content: content(name))
            var parts = name.split(separator: "/").dropLast()
            while !parts.isEmpty {
                let folder = alert + "/" + parts.joined(separator: "/") + "/"
                items[folder] = ZipWriter.Item(name: folder, content: .directory)
                parts = parts.dropLast()
            }
        }
        return items.values.sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
    }
}
