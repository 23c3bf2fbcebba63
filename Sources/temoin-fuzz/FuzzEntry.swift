import Foundation
import TemoinFuzzTargets

/// `temoin-fuzz`: built by Scripts/fuzz with `-D TEMOIN_FUZZ -sanitize=fuzzer,address`, it is a
/// libFuzzer binary running the target named by `TEMOIN_FUZZ_TARGET` (every libFuzzer flag
/// works). Built normally, it replays files through targets and writes the seed corpus:
///
///     temoin-fuzz list
///     temoin-fuzz replay TARGET FILE|FOLDER…
///     temoin-fuzz seeds SPEECH.wav CHUNK.opus OUTPUT-FOLDER
@main
struct TemoinFuzz {
    static func main() {
        #if TEMOIN_FUZZ
        exit(runLibFuzzer())
        #else
        exit(runCommand(Array(CommandLine.arguments.dropFirst())))
        #endif
    }

    static func runCommand(_ arguments: [String]) -> Int32 {
        switch arguments.first {
        case "list":
            for t in FuzzTargets.all { print("\(t.name)\t\(t.summary)") }
            return 0
        case "replay" where arguments.count >= 3:
            guard let target = FuzzTargets.named(arguments[1]) else {
                return fail("no target \(arguments[1]); see temoin-fuzz list")
            }
            var counts = [Outcome: Int]()
            for path in arguments.dropFirst(2) {
                for file in files(path) {
                    guard let data = FileManager.default.contents(atPath: file) else {
                        return fail("cannot read \(file)")
                    }
                    do { counts[try target.run(Array(data)), default: 0] += 1 } catch {
                        return fail("\(file): \(error)")
                    }
                }
            }
            print(
                "\(target.name): \(counts.values.reduce(0, +)) inputs replayed, every invariant held "
                    + "(\(counts[.refused] ?? 0) refused, \(counts[.accepted] ?? 0) accepted, "
                    + "\(counts[.verified] ?? 0) verified)"
            )
            return 0
        case "seeds" where arguments.count == 4:
            guard let speech = FileManager.default.contents(atPath: arguments[1]),
                let opus = FileManager.default.contents(atPath: arguments[2])
            else { return fail("cannot read the samples") }
            do {
                for (target, name, bytes) in try FuzzSeeds.all(speechWAV: Array(speech), opusFile: Array(opus)) {
                    let folder = URL(fileURLWithPath: arguments[3]).appendingPathComponent(target)
                    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                    try Data(bytes).write(to: folder.appendingPathComponent("seed-" + name))
                }
            } catch { return fail("\(error)") }
            return 0
        default:
            return fail(
                "usage: temoin-fuzz list | replay TARGET FILE|FOLDER… | seeds SPEECH.wav CHUNK.opus OUTPUT-FOLDER")
        }
    }

    static func files(_ path: String) -> [String] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue else {
            return [path]
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.sorted().map { path + "/" + $0 }
    }

    static func fail(_ message: String) -> Int32 {
        FileHandle.standardError.write(Data(("temoin-fuzz: " + message + "\n").utf8))
        return 1
    }

    #if TEMOIN_FUZZ
    /// Checks the target's name, then hands over to libFuzzer with its command line.
    static func runLibFuzzer() -> Int32 {
        guard targetName.flatMap(FuzzTargets.named) != nil else {
            return fail("set TEMOIN_FUZZ_TARGET to one of: " + FuzzTargets.all.map(\.name).joined(separator: " "))
        }
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        return LLVMFuzzerRunDriver(&argc, &argv, fuzzOne)
    }
    #endif
}

#if TEMOIN_FUZZ
let targetName = ProcessInfo.processInfo.environment["TEMOIN_FUZZ_TARGET"]
/// The target of this process, from `TEMOIN_FUZZ_TARGET` (read once).
let selected: FuzzTarget =
    targetName.flatMap(FuzzTargets.named) ?? { fatalError("TEMOIN_FUZZ_TARGET names no target") }()

/// libFuzzer's per-input entry point. A broken invariant is a crash for libFuzzer: it saves the
/// input as crash-… and stops.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    do { _ = try selected.run(bytes) } catch {
        fatalError("\(selected.name): \(error)")
    }
    return 0
}

/// libFuzzer's driver for a program with its own main (libFuzzer docs, "Using LLVMFuzzerRunDriver").
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32
#endif
