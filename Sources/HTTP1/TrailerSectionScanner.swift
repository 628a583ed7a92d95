/// Checks the trailer section of a chunked body (RFC 9112 §7.1.2) one byte at a time,
/// with the field-line rules a head is held to, and keeps none of its bytes.
///
/// `BodyDecoder` feeds it every byte after the last chunk's size line. The rules are
/// those `HeadScanner` (line ends) and `FieldLineParser` (field lines) apply to a head,
/// with the same errors, checked as each byte arrives instead of over a stored head:
///
/// - lines end in CRLF only (§2.2): a bare LF is `.bareLineFeed`, a CR not followed by
///   LF is `.bareCarriageReturn`;
/// - a line that begins with SP or HTAB is obs-fold (§5.2): `.obsoleteLineFolding`;
/// - a name is a non-empty token followed directly by a colon (§5.1): whitespace before
///   the colon, a line with no colon (such as a second `0` line), or a byte outside
///   tchar is `.invalidFieldName`;
/// - a value holds no CTL but HTAB and no DEL (§5.5), so no NUL: `.invalidFieldValue`.
///
/// One departure in reporting only: a head's line ends are checked before its field
/// lines, so a line `X\n` is a bare LF there but a missing colon here when its CR is
/// met first. Both are rejected.
///
/// Limits: the field lines, line ends included, may take `HTTPLimits.maxTrailerBytes`
/// (default 16384) and number `HTTPLimits.maxHeaderCount` (default 100); past either,
/// `.trailerSectionTooLarge`. The blank line that ends the section is not counted, so an
/// empty trailer section always fits.
struct TrailerSectionScanner: Sendable, Equatable {
    enum Result: Sendable, Equatable {
        /// The byte was taken; the section continues.
        case needMore
        /// The byte was the LF of the blank line that ends the section.
        case complete
        case failed(HTTPParseError)
    }

    private enum Position: UInt8, Sendable {
        /// At the first byte of a line: a field name, or the CR of the blank line.
        case lineStart
        case name
        /// After the colon: optional whitespace and the value.
        case value
        /// After the CR that ends a field line.
        case fieldLineFeed
        /// After the CR of the blank line that ends the section.
        case lastLineFeed
    }

    private var position = Position.lineStart
    private var bytes = 0
    private var fields = 0

    /// Takes the next byte of the trailer section.
    mutating func scan(_ byte: UInt8, limits: HTTPLimits) -> Result {
        if position != .lastLineFeed, !(position == .lineStart && byte == ASCII.cr) {
            bytes += 1
            guard bytes <= limits.maxTrailerBytes else { return .failed(.trailerSectionTooLarge) }
        }
        switch position {
        case .lineStart:
            if byte == ASCII.cr {
                position = .lastLineFeed
            } else if ASCII.isToken(byte) {
                guard fields < limits.maxHeaderCount else { return .failed(.trailerSectionTooLarge) }
                fields += 1
                position = .name
            } else {
                return .failed(Self.lineStartError(byte))
            }
        case .name:
            if byte == ASCII.colon {
                position = .value
            } else if !ASCII.isToken(byte) {
                return .failed(byte == ASCII.lf ? .bareLineFeed : .invalidFieldName)
            }
        case .value:
            if byte == ASCII.cr {
                position = .fieldLineFeed
            } else if !ASCII.isFieldValueByte(byte) {
                return .failed(byte == ASCII.lf ? .bareLineFeed : .invalidFieldValue)
            }
        case .fieldLineFeed:
            guard byte == ASCII.lf else { return .failed(.bareCarriageReturn) }
            position = .lineStart
        case .lastLineFeed:
            guard byte == ASCII.lf else { return .failed(.bareCarriageReturn) }
            return .complete
        }
        return .needMore
    }

    private static func lineStartError(_ byte: UInt8) -> HTTPParseError {
        if ASCII.isWhitespace(byte) { return .obsoleteLineFolding }
        if byte == ASCII.lf { return .bareLineFeed }
        return .invalidFieldName
    }
}
