public import ArgumentParser
public import TemoinCore

/// `--alert` is parsed once, by the argument parser: anything but 32 lowercase hex digits is a
/// usage error before anything is sent.
extension AlertID: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}
