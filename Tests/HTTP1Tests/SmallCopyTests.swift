import HTTP1
import Testing

/// `SmallCopy` writes exactly the bytes it is given, at every length and alignment,
/// and not one byte before or after them.
@Suite struct SmallCopyTests {
    @Test(arguments: 0...80)
    func copiesEveryLengthExactlyAndNothingAround(_ count: Int) {
        for offset in 0..<8 {
            let source = (0..<(count + offset)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            var target = [UInt8](repeating: 0xEE, count: count + 24)
            source.withUnsafeBytes { from in
                target.withUnsafeMutableBytes { to in
                    SmallCopy.copy(from: from.baseAddress! + offset, to: to.baseAddress! + 8 + (offset & 3), count: count)
                }
            }
            let start = 8 + (offset & 3)
            #expect(Array(target[start..<(start + count)]) == Array(source[offset...]), "length \(count), offset \(offset)")
            #expect(target[..<start].allSatisfy { $0 == 0xEE }, "wrote before, length \(count)")
            #expect(target[(start + count)...].allSatisfy { $0 == 0xEE }, "wrote after, length \(count)")
        }
    }
}
