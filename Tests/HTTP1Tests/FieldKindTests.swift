import HTTP1
import Testing

@Suite struct FieldKindTests {
    @Test(arguments: FieldKind.allCases.filter { $0 != .other })
    func everyKnownNameIsRecognisedInAnyCase(_ kind: FieldKind) {
        for name in [kind.name, kind.name.uppercased(), kind.name.prefix(1).uppercased() + kind.name.dropFirst()] {
            let recognised = Array(name.utf8).withUnsafeBytes { FieldKind.classify($0) }
            #expect(recognised == kind, "\(name)")
        }
    }

    @Test(arguments: ["x-forwarded-fox", "hosts", "content-lengths", "t", "", "transfer_encoding"])
    func otherNamesAreOther(_ name: String) {
        #expect(Array(name.utf8).withUnsafeBytes { FieldKind.classify($0) } == .other)
    }
}
