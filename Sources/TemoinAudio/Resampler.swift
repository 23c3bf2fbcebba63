internal import CTemoinSoxr
public import TemoinCore

/// Sample-rate conversion with libsoxr (high quality), one chunk at a time.
///
/// Each chunk is converted on its own (`soxr_oneshot`): stateless, deterministic, and a restart
/// needs nothing but the chunk. The cost is a filter edge at chunk boundaries, inaudible on
/// speech; inputs at a rate libopus takes natively are never resampled.
public enum Resampler {
    public static func resample(_ samples: [Float], from input: Int, to output: Int) throws(TemoinError) -> [Float] {
        guard input != output, !samples.isEmpty else { return samples }
        let expected = Int((Double(samples.count) * Double(output) / Double(input)).rounded())
        var out = [Float](repeating: 0, count: expected)
        var done = 0
        let message: UnsafePointer<CChar>? = samples.withUnsafeBufferPointer { inp in
            out.withUnsafeMutableBufferPointer { o in
                soxr_oneshot(
                    Double(input), Double(output), 1, inp.baseAddress, samples.count, nil,
                    o.baseAddress, expected, &done, nil, nil, nil)
            }
        }
        if let message {
            throw TemoinError(.soxrFailure, "libsoxr failed to resample: \(String(cString: message))")
        }
        return Array(out.prefix(done)) + [Float](repeating: 0, count: expected - done)
    }
}
