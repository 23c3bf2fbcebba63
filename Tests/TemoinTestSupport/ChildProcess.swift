import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a finished child process left behind.
public struct ProcessOutput: Sendable {
    /// The exit code, or 128 + the signal's number when a signal ended the child (as a shell says).
    public let status: Int32
    public let stdout: [UInt8]
    public let stderr: [UInt8]
    /// Standard output as UTF-8 text.
    public var text: String { String(decoding: stdout, as: UTF8.self) }
    /// Standard error as UTF-8 text.
    public var errorText: String { String(decoding: stderr, as: UTF8.self) }
}

/// A child that could not be started, or did not finish in time (then it was killed).
public struct ProcessError: Error, CustomStringConvertible {
    public let description: String
}

/// Runs `executable` (a path, or a name looked up in `PATH`) to its end and returns its status and
/// outputs. Standard input receives `input` (empty when nil); both outputs are drained while it is
/// written, so a child that writes a lot before reading, or never reads, cannot deadlock the test.
/// After `timeout` the child is killed and the call throws, quoting the end of its standard error.
/// This one blocks its thread: from async code, use the async overload.
public func runProcess(
    _ executable: String, _ arguments: [String], input: [UInt8]? = nil, environment: [String: String] = [:],
    directory: String? = nil, timeout: Duration = .seconds(120)
) throws -> ProcessOutput {
    try ChildProcess(executable, arguments, input: input, environment: environment, directory: directory)
        .waitBlocking(timeout: timeout)
}

/// The same as the blocking `runProcess`, waiting without holding a thread of the concurrency pool.
public func runProcess(
    _ executable: String, _ arguments: [String], input: [UInt8]? = nil, environment: [String: String] = [:],
    directory: String? = nil, timeout: Duration = .seconds(120)
) async throws -> ProcessOutput {
    try await ChildProcess(executable, arguments, input: input, environment: environment, directory: directory)
        .wait(timeout: timeout)
}

/// A running child process whose outputs one thread of its own drains into memory until it ends,
/// for services a test starts, talks to and stops. The child is reaped by that thread alone, so
/// its status is never lost and its pid is never signalled once it may have been reused.
public final class ChildProcess: @unchecked Sendable {
    /// The child's process id.
    public let pid: Int32
    private let command: String
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var exitStatus: Int32?
    private var output: ProcessOutput?

    /// Starts `executable` (a path, or a name looked up in `PATH`) with the test's environment plus
    /// `environment`, in `directory` when given, with `input` on its standard input.
    public init(
        _ executable: String, _ arguments: [String], input: [UInt8]? = nil, environment: [String: String] = [:],
        directory: String? = nil
    ) throws {
        command = ([executable] + arguments).joined(separator: " ")
        // Our ends of the pipes are close-on-exec: another child started meanwhile must not hold
        // them open (we would never see end of file).
        let stdin = try Self.pipe(), stdout = try Self.pipe(), stderr = try Self.pipe()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin.read, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout.write, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr.write, 2)
        Self.closeFrom(&actions, 3)
        if let directory {
            guard Self.changeDirectory(&actions, directory) == 0 else {
                throw ProcessError(
                    description: "cannot start \(command) in \(directory): no posix_spawn_file_actions_addchdir_np")
            }
        }
        // The child starts with default signal handling and nothing blocked, whatever the test
        // process (or a library in it) did to SIGPIPE and friends.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var all = sigset_t(), none = sigset_t()
        sigfillset(&all)
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        var variables = ProcessInfo.processInfo.environment
        variables.merge(environment) { $1 }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, executable, &actions, &attributes, argv, envp)
        for fd in [stdin.read, stdout.write, stderr.write] { close(fd) }
        guard spawned == 0 else {
            for fd in [stdin.write, stdout.read, stderr.read] { close(fd) }
            throw ProcessError(description: "cannot start \(command): \(String(cString: strerror(spawned)))")
        }
        self.pid = pid
        let thread = Thread { [self] in
            drain(input: input ?? [], stdin: stdin.write, stdout: stdout.read, stderr: stderr.read)
        }
        thread.name = "child \(pid)"
        thread.start()
    }

    /// True until the child has exited (and been reaped).
    public var isRunning: Bool {
        condition.lock()
        defer { condition.unlock() }
        return exitStatus == nil
    }

    /// Sends `signal` unless the child has already exited.
    public func signal(_ signal: Int32) {
        condition.lock()
        defer { condition.unlock() }
        if exitStatus == nil { _ = Glibc.kill(pid, signal) }
    }

    /// Sends `signal` and waits until the child has exited; after `timeout`, kills it.
    public func stop(_ signal: Int32, timeout: Duration = .seconds(10)) async {
        self.signal(signal)
        _ = try? await wait(timeout: timeout)
    }

    /// Waits for the end (exit, and end of file on both outputs), polling without holding a
    /// thread. After `timeout` the child is killed and this throws.
    public func wait(timeout: Duration) async throws -> ProcessOutput {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let output = finished() { return output }
            try await Task.sleep(for: .milliseconds(10))
        }
        signal(SIGKILL)
        while finished() == nil { try? await Task.sleep(for: .milliseconds(10)) }
        throw Self.timeoutError(command, timeout, finished()!)
    }

    /// Waits for the end on this thread. After `timeout` the child is killed and this throws.
    public func waitBlocking(timeout: Duration) throws -> ProcessOutput {
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        let deadline = Date(timeIntervalSinceNow: seconds)
        condition.lock()
        while output == nil, condition.wait(until: deadline) {}
        let done = output
        condition.unlock()
        if let done { return done }
        signal(SIGKILL)
        condition.lock()
        while output == nil { condition.wait() }
        let killed = output!
        condition.unlock()
        throw Self.timeoutError(command, timeout, killed)
    }

    private static func timeoutError(_ command: String, _ timeout: Duration, _ output: ProcessOutput) -> ProcessError {
        ProcessError(
            description: "\(command) did not finish within \(timeout) and was killed; its standard error ends with: "
                + String(decoding: output.stderr.suffix(2000), as: UTF8.self))
    }

    private func finished() -> ProcessOutput? {
        condition.lock()
        defer { condition.unlock() }
        return output
    }

    /// The drain thread: writes `input`, reads both outputs until end of file, reaps the child.
    /// One poll loop over the three pipes, so no pipe waits on another.
    private func drain(input: [UInt8], stdin: Int32, stdout: Int32, stderr: Int32) {
        // A child that stops reading makes our write fail with EPIPE; the SIGPIPE that comes with
        // it stays pending on this thread (which then ends) instead of killing the test process.
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)

        var fds = [stdin, stdout, stderr]
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        var buffers = [[UInt8](), [UInt8]()]
        var written = 0
        var exitedAt: ContinuousClock.Instant?
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        func closeSlot(_ i: Int) {
            close(fds[i])
            fds[i] = -1
        }
        if input.isEmpty { closeSlot(0) }
        while fds.contains(where: { $0 >= 0 }) {
            var polled = [
                pollfd(fd: fds[0], events: Int16(POLLOUT), revents: 0),
                pollfd(fd: fds[1], events: Int16(POLLIN), revents: 0),
                pollfd(fd: fds[2], events: Int16(POLLIN), revents: 0),
            ]
            // poll ignores negative descriptors.
            if poll(&polled, 3, 50) > 0 {
                if fds[0] >= 0, polled[0].revents != 0 {
                    let n = input.withUnsafeBytes {
                        write(fds[0], $0.baseAddress! + written, min(1 << 16, input.count - written))
                    }
                    if n > 0 { written += n }
                    if written == input.count || (n < 0 && errno != EAGAIN && errno != EINTR) { closeSlot(0) }
                }
                for i in 1...2 where fds[i] >= 0 && polled[i].revents != 0 {
                    let n = chunk.withUnsafeMutableBytes { read(fds[i], $0.baseAddress!, $0.count) }
                    if n > 0 {
                        buffers[i - 1].append(contentsOf: chunk[..<n])
                    } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                        closeSlot(i)
                    }
                }
            }
            if exitedAt == nil, reap(blocking: false) { exitedAt = .now }
            if let exitedAt {
                // The child is gone: nobody reads its input any more. A grandchild may still hold
                // the outputs open; give it two seconds, then stop listening.
                if fds[0] >= 0 { closeSlot(0) }
                if ContinuousClock.now - exitedAt > .seconds(2) { break }
            }
        }
        for i in 0..<3 where fds[i] >= 0 { closeSlot(i) }
        if exitedAt == nil { _ = reap(blocking: true) }
        condition.lock()
        output = ProcessOutput(status: exitStatus!, stdout: buffers[0], stderr: buffers[1])
        condition.broadcast()
        condition.unlock()
    }

    /// Reaps the child if it has exited (waits for it when `blocking`); records its status.
    private func reap(blocking: Bool) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, blocking ? 0 : WNOHANG)
            if r == -1 && errno == EINTR { continue }
            guard r == pid else { return false }
            // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift cannot import.
            exitStatus = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + status & 0x7f
            return true
        }
    }

    /// A pipe whose two ends are close-on-exec from the start (`pipe2(O_CLOEXEC)`): made with
    /// `pipe` then `fcntl`, a child started by another thread in between (a test's `Process`, which
    /// does not close what it inherits) kept our write end, and the reader waited for an end of
    /// file that came only when that child ended (`true` "did not finish within 60 s", seen once
    /// in a full run).
    private static func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        if let symbol = dlsym(nil, "pipe2") {
            guard unsafeBitCast(symbol, to: Pipe2.self)(&fds, O_CLOEXEC) == 0 else {
                throw ProcessError(description: "pipe2: \(String(cString: strerror(errno)))")
            }
            return (fds[0], fds[1])
        }
        guard Glibc.pipe(&fds) == 0 else {
            throw ProcessError(description: "pipe: \(String(cString: strerror(errno)))")
        }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (fds[0], fds[1])
    }

    private typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32

    // glibc's posix_spawn extensions, declared only under _GNU_SOURCE, which Swift's Glibc
    // module is not built with: looked up by name.
    private typealias AddChdir =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    private static func changeDirectory(_ actions: inout posix_spawn_file_actions_t, _ directory: String) -> Int32 {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addchdir_np") else { return -1 }
        return unsafeBitCast(symbol, to: AddChdir.self)(&actions, directory)
    }

    /// Closes every inherited descriptor from `first` on in the child (glibc 2.34+; older ones
    /// rely on close-on-exec alone).
    private static func closeFrom(_ actions: inout posix_spawn_file_actions_t, _ first: Int32) {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return }
        _ = unsafeBitCast(symbol, to: AddClosefrom.self)(&actions, first)
    }
}
