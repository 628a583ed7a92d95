import HTTP1
import Testing

/// Every case of the strictness reference, whole, split at every byte, byte by byte,
/// and with a valid request glued behind it.
@Suite struct StrictnessTests {
    static let glued = Array("GET /glued HTTP/1.1\r\nHost: a\r\n\r\n".utf8)

    func check(_ driver: RequestStreamDriver, _ expected: StrictnessCase.Expectation, extra: Int = 0) {
        switch expected {
        case .reject(let status):
            #expect(driver.error?.status == status, "error: \(String(describing: driver.error))")
        case .forward(let count):
            #expect(driver.error == nil, "unexpected \(String(describing: driver.error))")
            #expect(driver.messages.count == count + extra)
        }
    }

    @Test(arguments: StrictnessCase.all)
    func caseGivesTheSameOutcomeHoweverSplit(_ item: StrictnessCase) {
        let whole = RequestStreamDriver.run(item.bytes, limits: item.limits)
        check(whole, item.expected)
        if item.bytes.count <= 2048 {
            for split in 1..<item.bytes.count {
                let driver = RequestStreamDriver.run(item.bytes, splits: [split], limits: item.limits)
                #expect(driver.messages == whole.messages, "split at \(split)")
                #expect(driver.error == whole.error, "split at \(split)")
            }
        }
        let trickled = RequestStreamDriver.run(item.bytes, byteByByte: true, limits: item.limits)
        #expect(trickled.messages == whole.messages)
        #expect(trickled.error == whole.error)
    }

    @Test(arguments: StrictnessCase.all)
    func gluedRequestIsIgnoredAfterRejectAndSeparateAfterForward(_ item: StrictnessCase) {
        let driver = RequestStreamDriver.run(item.bytes + Self.glued, limits: item.limits)
        switch item.expected {
        case .reject:
            check(driver, item.expected)
            #expect(!driver.messages.contains { $0.target == "/glued" })
        case .forward:
            check(driver, item.expected, extra: 1)
            #expect(driver.messages.last?.target == "/glued")
        }
    }

    @Test func zeroPaddedContentLengthIsForwardedAsDecimal() {
        let driver = RequestStreamDriver.run(Array("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 005\r\n\r\nhello".utf8))
        #expect(driver.messages.first?.framing == .length(5))
        #expect(driver.messages.first?.body == Array("hello".utf8))
    }

    @Test func chunkExtensionsAndTrailersNeverReachTheBody() {
        let text = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n0\r\nContent-Length: 50\r\nHost: evil\r\n\r\n"
        let message = RequestStreamDriver.run(Array(text.utf8)).messages.first
        #expect(message?.body == Array("hello".utf8))
        #expect(message?.fields.contains("Host: evil") == false)
        #expect(message?.framing == .chunked)
    }

    @Test func http10ConnectionIsNeverKeptAlive() {
        let driver = RequestStreamDriver.run(Array("GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n".utf8))
        #expect(driver.messages.first?.keepAlive == false)
    }

    @Test func connectionCloseEndsPersistence() {
        let driver = RequestStreamDriver.run(Array("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".utf8))
        #expect(driver.messages.first?.keepAlive == false)
    }
}
