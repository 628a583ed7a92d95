/// Parses the field lines of a head (RFC 9112 §5) into `HeaderField`s.
///
/// Input is the bytes after the start line, each line already known to end in CRLF
/// (the `HeadScanner` guaranteed it). Rules: a name is a token followed directly by a
/// colon (no whitespace before it, §5.1); a line that begins with SP or HTAB is
/// obs-fold and is rejected (§5.2); a value holds no CTL but HTAB (so no NUL or bare
/// CR); only SP and HTAB are trimmed around it.
enum FieldLineParser {
    static func parse(
        _ head: UnsafeRawBufferPointer,
        from start: Int,
        maxFieldCount: Int,
        into fields: inout [HeaderField]
    ) throws(HTTPParseError) {
        var index = start
        let end = head.count
        while index < end {
            let lineStart = index
            // The blank line that ends the head.
            if head[index] == ASCII.cr { return }
            if ASCII.isWhitespace(head[index]) { throw .obsoleteLineFolding }
            // Most names are letters, digits and "-", all tchar: skipped a word at a time.
            index = WordSearch.skipLettersDigitsAndHyphens(in: head, from: index)
            while index < end, ASCII.isToken(head[index]) { index += 1 }
            guard index > lineStart, index < end, head[index] == ASCII.colon else {
                throw .invalidFieldName
            }
            let name = lineStart..<index
            index += 1
            while index < end, ASCII.isWhitespace(head[index]) { index += 1 }
            let valueStart = index
            // The value runs to its CR; before it, HTAB is the only control byte allowed.
            // Found eight bytes at a time: values are most of a head.
            var stop = WordSearch.firstControl(in: head, from: index)
            while stop < end, head[stop] == ASCII.tab {
                stop = WordSearch.firstControl(in: head, from: stop + 1)
            }
            if stop < end, head[stop] != ASCII.cr { throw .invalidFieldValue }
            var valueEnd = stop
            while valueEnd > valueStart, ASCII.isWhitespace(head[valueEnd - 1]) { valueEnd -= 1 }
            // Skip CRLF (the scanner guaranteed the LF).
            index = stop + 2
            if fields.count == maxFieldCount { throw .tooManyFields }
            let kind = FieldKind.classify(UnsafeRawBufferPointer(rebasing: head[name]))
            fields.append(HeaderField(name: name, value: valueStart..<valueEnd, kind: kind))
        }
    }
}
