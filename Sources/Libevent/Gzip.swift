#if canImport(Glibc)
import Glibc
#endif
import CLibevent

/// gzip compression (zlib), for OTLP payloads (`Content-Encoding: gzip`).
public enum Gzip {
    public static func compress(_ input: [UInt8], level: Int32 = 6) -> [UInt8]? {
        input.withUnsafeBytes { compress($0, level: level) }
    }

    /// Compresses memory the caller holds (zlib only reads it).
    public static func compress(_ input: UnsafeRawBufferPointer, level: Int32 = 6) -> [UInt8]? {
        var stream = z_stream()
        guard hoptrace_deflate_init_gzip(&stream, level) == Z_OK else { return nil }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 32)
        let status = output.withUnsafeMutableBufferPointer { target in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
            stream.avail_in = UInt32(input.count)
            stream.next_out = target.baseAddress
            stream.avail_out = UInt32(target.count)
            return deflate(&stream, Z_FINISH)
        }
        guard status == Z_STREAM_END else { return nil }
        output.removeSubrange(Int(stream.total_out)...)
        return output
    }
}

extension Gzip {
    public enum DecompressionFailure: Error, Equatable {
        /// The data would be larger than the limit once decompressed (a gzip bomb, or
        /// just too much): reading stopped there.
        case tooLarge(limit: Int)
        /// Not gzip, or cut short.
        case malformed
    }

    /// Decompresses gzip data (one member or several back to back, RFC 1952 §2.2),
    /// never producing more than `limit` bytes.
    public static func decompress(_ input: [UInt8], limit: Int) -> Result<[UInt8], DecompressionFailure> {
        var output: [UInt8] = []
        var consumed = 0
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var input = input
        while consumed < input.count {
            var stream = z_stream()
            guard hoptrace_inflate_init_gzip(&stream) == Z_OK else { return .failure(.malformed) }
            defer { inflateEnd(&stream) }
            var status = Z_OK
            var exceeded = false
            input.withUnsafeMutableBufferPointer { source in
                stream.next_in = source.baseAddress! + consumed
                stream.avail_in = UInt32(source.count - consumed)
                repeat {
                    let produced = chunk.withUnsafeMutableBufferPointer { target -> Int in
                        stream.next_out = target.baseAddress
                        stream.avail_out = UInt32(target.count)
                        status = inflate(&stream, Z_NO_FLUSH)
                        return target.count - Int(stream.avail_out)
                    }
                    if output.count + produced > limit {
                        exceeded = true
                        return
                    }
                    output.append(contentsOf: chunk[0..<produced])
                } while status == Z_OK
            }
            if exceeded { return .failure(.tooLarge(limit: limit)) }
            guard status == Z_STREAM_END else { return .failure(.malformed) }
            consumed = input.count - Int(stream.avail_in)
        }
        return .success(output)
    }
}
