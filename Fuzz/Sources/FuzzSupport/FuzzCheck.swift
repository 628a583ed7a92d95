/// Stops the run with `message` when an invariant does not hold. libFuzzer catches the
/// trap and writes the input as a crash artifact; the message names the invariant.
@inline(__always)
public func fuzzCheck(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    if !condition() { fatalError("fuzz invariant: \(message())", file: file, line: line) }
}
