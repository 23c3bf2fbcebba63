#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TemoinAudio
import TemoinRecording
import TemoinCore
import TemoinCrypto
import TemoinLedger
import TemoinIngest
import TemoinExport
import TemoinCLI
import TemoinServer

/// N simulated phones against a running `temoin serve` process, faster than real time.
struct ServiceBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service",
        abstract:
            "Service benchmark: audio-seconds/s, receipt latency at full and half load, server memory, ratio to "
            + "libopus alone."
    )

    @Option(help: "WAV file every phone sends (looped).") var file = "Samples/speech-fr-en-16k.wav"
    @Option(help: "Concurrent phones (alerts).") var devices = 16
    @Option(help: "Audio seconds per phone at full load.") var seconds = 60
    @Option(help: "Chunk length in seconds.") var chunkSeconds = 5
    @Option(
        help: "CPUs the server is pinned to (taskset list, e.g. 1); pin the phones with `taskset -c 0 temoin-bench …`.")
    var serverCpus: String?
    @Flag(help: "Full load again with staff-like reads alongside: 1000 inclusion proofs and 10 recordings a second.")
    var staffReads = false
    @Option(help: "Minutes of a long alert exported through the staff API during a second realistic run (0: skip).")
    var exportMinutes = 0
    @Option(help: "Seconds between two exports of that run (0: back to back, the worst case).")
    var exportGapSeconds = 0
    @Option(help: "Realistic load for this many seconds: each phone sends one chunk every chunk-seconds (0: skip).")
    var realisticSeconds = 0
    @Option(
        help:
            ArgumentHelp(
                "Then this many alerts opened, streamed (one chunk) and closed one after another; server RSS before and "
                    + "after.")
    )
    var sequentialAlerts = 0

    func run() async throws {
        let audio = try WAV.parse(readInput(file))
        let chunks = Bench.loopedChunks(
            audio, seconds: chunkSeconds, count: (seconds + chunkSeconds - 1) / chunkSeconds)
        let sent = chunks

        // libopus alone on the same chunks, two workers: the reference throughput and encode time.
        let settings = try OpusSettings(inputRate: audio.format.sampleRate)
        let mono = try sent.map {
            try Resampler.resample(WAV.parse($0).monoSamples(), from: audio.format.sampleRate, to: settings.sampleRate)
        }
        let clock = ContinuousClock()
        // Measured in CPU time (this process does nothing else meanwhile): wall time × 2 would
        // count a core taken by anything else on the machine as libopus's.
        let cpuBeforeAlone = Self.cpuSeconds(of: getpid())
        let alone = try await Bench.libopusAlone(settings: settings, chunks: mono, streams: devices)
        let aloneCPU = Self.cpuSeconds(of: getpid()) - cpuBeforeAlone
        let audioSeconds = Double(devices * sent.count * chunkSeconds)
        let aloneRate = audioSeconds / Bench.seconds(alone)
        let encodePerChunk = aloneCPU / Double(devices * sent.count)

        // A ledger with N enrolled phones, served by a separate process.
        let folder = try Bench.temporaryFolder("service")
        let directory = DataDirectory(folder)
        let created = try await Ledger.initialize(directory: directory, origin: "bench.example/service")
        var keys = [Ed25519PrivateKey]()
        do {
            let writer = try LedgerWriter(directory: directory)
            for _ in 0..<devices {
                let k = try Ed25519PrivateKey.generate()
                _ = try await writer.append(
                    EntryDraft(enrolling: DeviceID.derive(publicKey: k.publicKey), publicKey: k.publicKey))
                keys.append(k)
            }
        }
        let phoneKeys = keys
        // A long alert (from the ledger's own ingest device) and a legal account, for exports.
        var legalToken = ""
        let longAlert = Bench.alertID(77)
        do {
            let writer = try LedgerWriter(directory: directory)
            legalToken = try await Accounts(writer: writer, reader: LedgerReader(directory: directory))
                .create(name: "Bench legal", role: "legal").token
            if exportMinutes > 0 {
                let opened = Timestamp(millisecondsSinceEpoch: 1_795_971_600_000)
                let statement = try DeviceStatement(
                    kind: .alertOpened, origin: writer.origin, alert: longAlert, capturedAt: opened)
                _ = try await writer.append(
                    EntryDraft(
                        kind: .alertOpened, alert: longAlert, device: created.ingestDevice,
                        [
                            ("opened-at", opened.description),
                            ("statement-sig", Base64.encode(try directory.loadIngestDeviceKey().sign(statement.bytes))),
                        ]))
                let ingestor = try AudioIngestor(writer: writer)
                let long = Bench.loopedChunks(audio, seconds: 5, count: exportMinutes * 12)
                for (seq, chunk) in long.enumerated() {
                    _ = try await ingestor.ingest(
                        ChunkUpload(
                            alert: longAlert, seq: UInt64(seq),
                            captureStart: Timestamp(
                                millisecondsSinceEpoch: opened.millisecondsSinceEpoch + Int64(seq) * 5000),
                            original: chunk, format: .wav, statementSignature: nil, isFinal: seq == long.count - 1))
                }
            }
        }
        let staffToken = legalToken
        let server = Process()
        // The service under test is the `temoin` built next to this benchmark.
        let temoin = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("temoin").path
        let serve = [
            temoin, "serve", "--data", folder, "--port", "0", "--requests-per-minute", "1000000",
            "--device-mib-per-hour", "1000000", "--server-timing",
        ]
        // taskset execs the service: the process measured is the service itself.
        server.executableURL = URL(fileURLWithPath: serverCpus == nil ? temoin : "/usr/bin/taskset")
        server.arguments = serverCpus.map { ["-c", $0] + serve } ?? Array(serve.dropFirst())
        server.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try server.run()
        defer { kill(server.processIdentifier, SIGTERM) }
        var base: URL?
        for _ in 0..<500 where base == nil {
            base = directory.readServiceURL().flatMap { URL(string: $0) }
            try await Task.sleep(for: .milliseconds(20))
        }
        guard let base else { throw TemoinError(.benchNoService, "the service did not start") }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = devices * 2
        let session = URLSession(configuration: configuration)
        let origin = created.origin
        let alerts = (0..<devices).map { Bench.alertID(10_000 + $0) }

        @Sendable func put(_ d: Int, _ seq: Int, alert: AlertID? = nil, stages: StageLog? = nil) async throws -> Double
        {
            let alert = alert ?? alerts[d]
            let capture = Timestamp(millisecondsSinceEpoch: 1_795_971_600_000 + Int64(seq * chunkSeconds) * 1000)
            let wav = sent[seq % sent.count]
            let statement = try DeviceStatement(
                kind: .audioChunk, origin: origin, alert: alert, seq: UInt64(seq), capturedAt: capture,
                sha256: SHA256.hash(wav))
            var request = URLRequest(url: base.appendingPathComponent("v1/alerts/\(alert)/chunks/\(seq)"))
            request.httpMethod = "PUT"
            request.httpBody = Data(wav)
            request.setValue("audio/wav", forHTTPHeaderField: "Content-Type")
            request.setValue(capture.description, forHTTPHeaderField: "Temoin-Captured-At")
            request.setValue(
                Base64.encode(try phoneKeys[d].sign(statement.bytes)), forHTTPHeaderField: "Temoin-Signature")
            let start = ContinuousClock.now
            let (_, response) = try await session.data(for: request)
            let elapsed = Bench.seconds(ContinuousClock.now - start)
            guard (response as? HTTPURLResponse)?.statusCode == 201 else {
                throw TemoinError(
                    .benchRefused, "a chunk was refused: HTTP \((response as? HTTPURLResponse)?.statusCode ?? 0)")
            }
            let timing = (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Server-Timing")
            await stages?.add(latency: elapsed, serverTiming: timing)
            return elapsed
        }
        for d in 0..<devices {
            let statement = try DeviceStatement(
                kind: .alertOpened, origin: origin, alert: alerts[d],
                capturedAt: Timestamp(millisecondsSinceEpoch: 1_795_971_600_000))
            var request = URLRequest(url: base.appendingPathComponent("v1/alerts/\(alerts[d])"))
            request.httpMethod = "PUT"
            request.httpBody = try JSONEncoder().encode([
                "device": DeviceID.derive(publicKey: keys[d].publicKey).rawValue,
                "openedAt": "2026-11-29T17:00:00.000Z",
                "signature": Base64.encode(try keys[d].sign(statement.bytes)),
            ])
            _ = try await session.data(for: request)
        }

        // The client's own floor: an idle round trip through the same URLSession.
        var idle = [Double]()
        for _ in 0..<20 {
            let start = ContinuousClock.now
            _ = try await session.data(from: base.appendingPathComponent("healthz"))
            idle.append(Bench.seconds(ContinuousClock.now - start))
        }
        idle.sort()

        // Full load: every phone sends as fast as the service answers.
        let cpuBefore = Self.cpuSeconds(of: server.processIdentifier)
        let fullLatencies = LatencyLog()
        let full = try await clock.measure {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for d in 0..<devices {
                    group.addTask { for seq in 0..<sent.count { await fullLatencies.add(try await put(d, seq)) } }
                }
                try await group.waitForAll()
            }
        }
        let fullRate = audioSeconds / Bench.seconds(full)
        let serverCPUFull = Self.cpuSeconds(of: server.processIdentifier) - cpuBefore
        // CPU efficiency: CPU-seconds of libopus alone over CPU-seconds of the whole service for the
        // same audio. Not distorted by the load generator, which
        // shares the machine's two cores.
        let efficiency = aloneCPU / serverCPUFull

        // Half load: each phone paced so that together they send half the measured throughput.
        let interval = Double(chunkSeconds * devices) / (fullRate / 2)
        let halfLatencies = LatencyLog()
        let halfStages = StageLog()
        let rounds = 6
        try await withThrowingTaskGroup(of: Void.self) { group in
            for d in 0..<devices {
                group.addTask {
                    try await Task.sleep(for: .milliseconds(Int(interval * 1000 * Double(d) / Double(devices))))
                    for r in 0..<rounds {
                        let start = ContinuousClock.now
                        await halfLatencies.add(try await put(d, sent.count + r, stages: halfStages))
                        let rest = interval - Bench.seconds(ContinuousClock.now - start)
                        if rest > 0 { try await Task.sleep(for: .milliseconds(Int(rest * 1000))) }
                    }
                }
            }
            try await group.waitForAll()
        }
        let memory = Self.memory(of: server.processIdentifier)
        let serverCPU = Self.cpuSeconds(of: server.processIdentifier)
        let f = await fullLatencies.sorted(), h = await halfLatencies.sorted()
        var nextSeq = sent.count + rounds

        // Full load again, with staff reading alongside (proofs and recordings).
        var withReads: (latencies: [Double], proofs: Int, recordings: Int, seconds: Double)?
        if staffReads {
            let first = nextSeq
            let log = LatencyLog()
            let reads = ReadCounter()
            let loadDone = ManagedFlag()
            let readsStart = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Staff reads go through a client of their own (its own connections), so the phones'
                // client does not hold them back: 1000 proofs a second in 20 ms batches of 20, and
                // 10 recordings a second, each loop on its own clock (a slow recording does not hold
                // back the proofs).
                let readConfiguration = URLSessionConfiguration.ephemeral
                readConfiguration.httpMaximumConnectionsPerHost = 32
                let readSession = URLSession(configuration: readConfiguration)
                group.addTask {
                    var tick = 0
                    while !(await loadDone.value) {
                        let start = ContinuousClock.now
                        let t = tick
                        let served = try await withThrowingTaskGroup(of: Int.self) { batch in
                            for i in 0..<20 {
                                batch.addTask {
                                    let (_, r) = try await readSession.data(
                                        from: base.appendingPathComponent("v1/proofs/inclusion")
                                            .appending(queryItems: [
                                                URLQueryItem(name: "index", value: String((t * 20 + i) % 50))
                                            ]))
                                    return (r as? HTTPURLResponse)?.statusCode == 200 ? 1 : 0
                                }
                            }
                            return try await batch.reduce(0, +)
                        }
                        await reads.add(proofs: served, recordings: 0)
                        tick += 1
                        let rest = 0.020 - Bench.seconds(ContinuousClock.now - start)
                        if rest > 0 { try await Task.sleep(for: .milliseconds(Int(rest * 1000))) }
                    }
                }
                group.addTask {
                    var tick = 0
                    try await withThrowingTaskGroup(of: Void.self) { recordings in
                        while !(await loadDone.value) {
                            let start = ContinuousClock.now
                            let t = tick
                            recordings.addTask {
                                var request = URLRequest(
                                    url: base.appendingPathComponent(
                                        "v1/staff/alerts/\(alerts[t % devices])/recording"))
                                request.setValue("Bearer \(staffToken)", forHTTPHeaderField: "Authorization")
                                let (_, r) = try await readSession.data(for: request)
                                if (r as? HTTPURLResponse)?.statusCode == 200 {
                                    await reads.add(proofs: 0, recordings: 1)
                                }
                            }
                            tick += 1
                            let rest = 0.100 - Bench.seconds(ContinuousClock.now - start)
                            if rest > 0 { try await Task.sleep(for: .milliseconds(Int(rest * 1000))) }
                        }
                        try await recordings.waitForAll()
                    }
                }
                group.addTask {
                    try await withThrowingTaskGroup(of: Void.self) { phones in
                        for d in 0..<devices {
                            phones.addTask {
                                for seq in first..<first + sent.count { await log.add(try await put(d, seq)) }
                            }
                        }
                        try await phones.waitForAll()
                    }
                    await loadDone.set()
                }
                try await group.waitForAll()
            }
            let counts = await reads.counts
            withReads = (
                await log.sorted(), counts.proofs, counts.recordings, Bench.seconds(ContinuousClock.now - readsStart)
            )
            nextSeq += sent.count
        }

        // Realistic load: each phone sends one chunk every chunk-seconds, as a phone in an alert does.
        @Sendable func realisticLoad(first: Int, count: Int, stages: StageLog? = nil) async throws -> [Double] {
            let log = LatencyLog()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for d in 0..<devices {
                    group.addTask {
                        try await Task.sleep(for: .milliseconds(chunkSeconds * 1000 * d / devices))
                        let start = ContinuousClock.now
                        for r in 0..<count {
                            await log.add(try await put(d, first + r, stages: stages))
                            let due = start + .seconds(chunkSeconds * (r + 1))
                            if due > ContinuousClock.now { try await Task.sleep(until: due) }
                        }
                    }
                }
                try await group.waitForAll()
            }
            return await log.sorted()
        }
        var realistic: (latencies: [Double], cpu: Double, audio: Double)?
        let realisticStages = StageLog()
        var exporting: (latencies: [Double], times: [Double], bytes: Int)?
        if realisticSeconds > 0 {
            let count = max(1, realisticSeconds / chunkSeconds)
            let cpu0 = Self.cpuSeconds(of: server.processIdentifier)
            let latencies = try await realisticLoad(first: nextSeq, count: count, stages: realisticStages)
            realistic = (
                latencies, Self.cpuSeconds(of: server.processIdentifier) - cpu0, Double(devices * count * chunkSeconds)
            )
            nextSeq += count
            if exportMinutes > 0 {
                // The same load again, with exports of the long alert one after another throughout.
                let done = ManagedFlag()
                let times = LatencyLog()
                let size = ReadCounter()
                let first = nextSeq
                let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
                    group.addTask {
                        while !(await done.value) {
                            var request = URLRequest(
                                url: base.appendingPathComponent("v1/staff/alerts/\(longAlert)/exports"))
                            request.httpMethod = "POST"
                            request.setValue("Bearer \(staffToken)", forHTTPHeaderField: "Authorization")
                            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
                            request.httpBody = Data(#"{"requester":"bench","reference":"bench"}"#.utf8)
                            let start = ContinuousClock.now
                            let (data, response) = try await session.data(for: request)
                            guard (response as? HTTPURLResponse)?.statusCode == 201 else {
                                throw TemoinError(
                                    .benchRefused,
                                    "an export was refused: HTTP \((response as? HTTPURLResponse)?.statusCode ?? 0)")
                            }
                            await times.add(Bench.seconds(ContinuousClock.now - start))
                            await size.add(proofs: data.count, recordings: 1)
                            if exportGapSeconds > 0 { try await Task.sleep(for: .seconds(exportGapSeconds)) }
                        }
                        return []
                    }
                    group.addTask {
                        let l = try await realisticLoad(first: first, count: count)
                        await done.set()
                        return l
                    }
                    var all = [Double]()
                    for try await l in group { all += l }
                    return all.sorted()
                }
                let counts = await size.counts
                exporting = (latencies, await times.sorted(), counts.proofs / max(1, counts.recordings))
                nextSeq += count
            }
        }

        // Many alerts one after another: memory must come back (encoders are released at close).
        var sequential: (before: Int, after: Int, seconds: Double)?
        if sequentialAlerts > 0 {
            let before = Self.memory(of: server.processIdentifier).now
            let start = ContinuousClock.now
            for n in 0..<sequentialAlerts {
                let d = n % devices, alert = Bench.alertID(1_000_000 + n)
                let opened = Timestamp(millisecondsSinceEpoch: 1_795_971_600_000)
                let statement = try DeviceStatement(
                    kind: .alertOpened, origin: origin, alert: alert, capturedAt: opened)
                var request = URLRequest(url: base.appendingPathComponent("v1/alerts/\(alert)"))
                request.httpMethod = "PUT"
                request.httpBody = try JSONEncoder().encode([
                    "device": DeviceID.derive(publicKey: phoneKeys[d].publicKey).rawValue,
                    "openedAt": opened.description,
                    "signature": Base64.encode(try phoneKeys[d].sign(statement.bytes)),
                ])
                _ = try await session.data(for: request)
                _ = try await put(d, 0, alert: alert)
                let close = try DeviceStatement(
                    kind: .alertClosed, origin: origin, alert: alert, seq: 0, capturedAt: opened)
                var closing = URLRequest(url: base.appendingPathComponent("v1/alerts/\(alert)/close"))
                closing.httpMethod = "POST"
                closing.httpBody = try JSONEncoder().encode(
                    CloseBody(
                        closedAt: opened.description, lastSeq: 0,
                        signature: Base64.encode(try phoneKeys[d].sign(close.bytes))))
                _ = try await session.data(for: closing)
            }
            sequential = (
                before, Self.memory(of: server.processIdentifier).now, Bench.seconds(ContinuousClock.now - start)
            )
        }
        Output.line("input=\(file) \(audio.format) encoder=\(settings.codecDescription)")
        Output.line("phones=\(devices) chunk-seconds=\(chunkSeconds) audio-seconds=\(Int(audioSeconds))")
        Output.line(
            "libopus alone (2 workers): \(format3(aloneRate)) audio-s/s; encode time per chunk "
                + "\(format3(encodePerChunk * 1e3)) ms"
        )
        Output.line(
            "service, full load:        \(format3(fullRate)) audio-s/s   wall "
                + "ratio=\(format3(fullRate / aloneRate)) (the phones share the 2 cores)"
        )
        Output.line(
            "service CPU at full load:  \(format3(serverCPUFull)) s for \(Int(audioSeconds)) audio-s = "
                + "\(format3(audioSeconds / serverCPUFull)) audio-s per CPU-s   efficiency ratio=\(format3(efficiency))"
        )
        Output.line(
            "receipt latency, full load: p50=\(format3(f[f.count / 2] * 1e3)) ms "
                + "p99=\(format3(f[f.count * 99 / 100] * 1e3)) ms"
        )
        Output.line(
            "idle round trip (GET /healthz, same client): p50=\(format3(idle[10] * 1e3)) ms "
                + "max=\(format3(idle[19] * 1e3)) ms"
        )
        Output.line(
            "receipt latency, half load: p50=\(format3(h[h.count / 2] * 1e3)) ms "
                + "p99=\(format3(h[min(h.count - 1, h.count * 99 / 100)] * 1e3)) ms (\(h.count) chunks)"
        )
        Output.line("  half load, " + (await halfStages.summary()))
        Output.line(
            "server memory: peak RSS \(memory.peak / 1024) MiB, now \(memory.now / 1024) MiB; server CPU "
                + "\(format3(serverCPU)) s"
        )
        Output.line("placement: server on CPUs \(serverCpus ?? "any"), phones on \(Self.affinity())")
        if let w = withReads {
            let p99 = w.latencies[w.latencies.count * 99 / 100]
            Output.line(
                "full load with staff reads: p99=\(format3(p99 * 1e3)) ms vs "
                    + "\(format3(f[f.count * 99 / 100] * 1e3)) ms without "
                    + "(\(format3((p99 / f[f.count * 99 / 100] - 1) * 100)) %); \(w.proofs) proofs "
                    + "(\(format3(Double(w.proofs) / w.seconds))/s), \(w.recordings) recordings "
                    + "(\(format3(Double(w.recordings) / w.seconds))/s) served in \(format3(w.seconds)) s"
            )
        }
        if let r = realistic {
            let perAudioSecond = r.cpu / r.audio * 1e3
            let aloneMs = aloneCPU / audioSeconds * 1e3
            Output.line(
                "realistic load (\(devices) phones, a \(chunkSeconds) s chunk every \(chunkSeconds) s): server CPU "
                    + "\(format3(perAudioSecond)) ms "
                    + "per audio-s vs libopus alone \(format3(aloneMs)) ms (ratio "
                    + "\(format3(aloneMs / perAudioSecond))); "
                    + "p50=\(format3(r.latencies[r.latencies.count / 2] * 1e3)) ms "
                    + "p99=\(format3(r.latencies[r.latencies.count * 99 / 100] * 1e3)) ms "
                    + "(encode per chunk \(format3(encodePerChunk * 1e3)) ms)")
            Output.line("  realistic load, " + (await realisticStages.summary()))
        }
        if let e = exporting, let r = realistic, !e.times.isEmpty {
            let p99 = e.latencies[e.latencies.count * 99 / 100], before = r.latencies[r.latencies.count * 99 / 100]
            let megabytes = e.bytes / 1_048_576
            let median = e.times[e.times.count / 2]
            let head = "export of a \(exportMinutes)-min alert through the staff API at realistic load: "
            let times =
                "\(e.times.count) exports of \(megabytes) MiB, time to the last byte min=\(format3(e.times[0])) s "
                + "median=\(format3(median)) s max=\(format3(e.times[e.times.count - 1])) s; "
            let phones = "phones' p99=\(format3(p99 * 1e3)) ms with exports vs \(format3(before * 1e3)) ms without"
            Output.line(head + times + phones)
        }
        if let s = sequential {
            Output.line(
                "\(sequentialAlerts) alerts one after another in \(format3(s.seconds)) s: server RSS "
                    + "\(s.before / 1024) MiB before, "
                    + "\(s.after / 1024) MiB after (\(s.after / 1024 - s.before / 1024) MiB)")
        }
    }

    /// The CPUs this process may run on (as taskset set them), from /proc/self/status.
    static func affinity() -> String {
        guard let data = FileHandle(forReadingAtPath: "/proc/self/status")?.readDataToEndOfFile() else { return "?" }
        let line = String(decoding: data, as: UTF8.self).split(separator: "\n").first {
            $0.hasPrefix("Cpus_allowed_list:")
        }
        return line.map { $0.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces) } ?? "?"
    }

    /// User + system CPU seconds of a process (/proc/PID/stat fields 14 and 15).
    static func cpuSeconds(of pid: Int32) -> Double {
        guard let data = FileHandle(forReadingAtPath: "/proc/\(pid)/stat")?.readDataToEndOfFile() else { return 0 }
        let text = String(decoding: data, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let u = Double(fields[11]), let s = Double(fields[12]) else { return 0 }
        return (u + s) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// VmHWM (peak) and VmRSS of a process, in KiB.
    static func memory(of pid: Int32) -> (peak: Int, now: Int) {
        guard let data = FileHandle(forReadingAtPath: "/proc/\(pid)/status")?.readDataToEndOfFile() else {
            return (0, 0)
        }
        var peak = 0, now = 0
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if line.hasPrefix("VmHWM:"), parts.count >= 2 { peak = Int(parts[1]) ?? 0 }
            if line.hasPrefix("VmRSS:"), parts.count >= 2 { now = Int(parts[1]) ?? 0 }
        }
        return (peak, now)
    }
}

/// Requests served alongside the load.
actor ReadCounter {
    private(set) var counts = (proofs: 0, recordings: 0)
    func add(proofs: Int, recordings: Int) { counts = (counts.proofs + proofs, counts.recordings + recordings) }
}

/// A flag set once by one task and read by another.
actor ManagedFlag {
    private(set) var value = false
    func set() { value = true }
}

struct CloseBody: Encodable {
    let closedAt: String
    let lastSeq: UInt64
    let signature: String
}
