#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HTTP1
import ProxyCore
import Testing

/// Every failure's status, side, `error.type` and retry rule, in one table (the one place
/// the proxy maps them).
@Suite struct ProxyFailureTests {
    struct Facts: Sendable, CustomTestStringConvertible {
        var failure: ProxyFailure
        var status: Int
        var side: ProxyFailure.Side
        var kind: String
        var retryRule: ProxyFailure.RetryRule

        var testDescription: String { "\(failure)" }

        init(
            _ failure: ProxyFailure, _ status: Int, _ side: ProxyFailure.Side, _ kind: String,
            _ retryRule: ProxyFailure.RetryRule = .never
        ) {
            self.failure = failure
            self.status = status
            self.side = side
            self.kind = kind
            self.retryRule = retryRule
        }
    }

    static let all: [Facts] = [
        .init(.malformedRequest(.invalidMethod), 400, .downstream, "malformed_request"),
        .init(.malformedRequest(.bodyTooLarge), 413, .downstream, "malformed_request"),
        .init(.malformedRequest(.connectNotSupported), 405, .downstream, "malformed_request"),
        .init(.noRoute, 404, .downstream, "no_route"),
        .init(.unresolved, 502, .upstream, "name_unresolved"),
        .init(.connectRefused, 502, .upstream, "connection_refused", .nothingWasSent),
        .init(.connectFailed(code: EHOSTUNREACH), 502, .upstream, "connect_error", .nothingWasSent),
        .init(.connectTimeout, 502, .upstream, "connect_timeout", .nothingWasSent),
        .init(.responseHeadTimeout, 504, .upstream, "response_header_timeout"),
        .init(.upstreamWriteTimeout, 504, .upstream, "upstream_write_timeout", .ifStaleConnection),
        .init(.responseBodyTimeout, 504, .upstream, "response_body_timeout"),
        .init(.upstreamClosedEarly, 502, .upstream, "upstream_closed", .ifStaleConnection),
        .init(.upstreamReset(code: ECONNRESET), 502, .upstream, "upstream_reset", .ifStaleConnection),
        .init(.malformedResponse(.invalidStatusLine), 502, .upstream, "invalid_upstream_response"),
        // A malformed response is the upstream's fault whatever the rule's request status.
        .init(.malformedResponse(.headerSectionTooLarge), 502, .upstream, "invalid_upstream_response"),
        .init(.malformedResponse(.bodyTooLarge), 502, .upstream, "invalid_upstream_response"),
        .init(.upstreamBodyTruncated, 502, .upstream, "upstream_body_truncated"),
        .init(.requestHeadTimeout, 408, .downstream, "request_header_timeout"),
        .init(.requestBodyTimeout, 408, .downstream, "request_body_timeout"),
        .init(.clientClosedMidRequest, 499, .downstream, "client_closed"),
        .init(.clientGone, 499, .downstream, "client_closed"),
        .init(.clientFailed, 499, .downstream, "client_closed"),
        .init(.clientTimeout, 499, .downstream, "client_timeout"),
    ]

    @Test(arguments: all)
    func failureMapsToItsStatusSideKindAndRetryRule(_ facts: Facts) {
        #expect(facts.failure.status == facts.status)
        #expect(facts.failure.side == facts.side)
        #expect(facts.failure.kind.rawValue == facts.kind)
        #expect(facts.failure.retryRule == facts.retryRule)
        #expect(facts.failure.isConnectFailure == (facts.retryRule == .nothingWasSent))
    }

    /// The case's name; a new case stops the build here until the table has a row for it.
    static func caseName(_ failure: ProxyFailure) -> String {
        switch failure {
        case .malformedRequest: "malformedRequest"
        case .noRoute: "noRoute"
        case .unresolved: "unresolved"
        case .connectRefused: "connectRefused"
        case .connectFailed: "connectFailed"
        case .connectTimeout: "connectTimeout"
        case .responseHeadTimeout: "responseHeadTimeout"
        case .upstreamWriteTimeout: "upstreamWriteTimeout"
        case .responseBodyTimeout: "responseBodyTimeout"
        case .upstreamClosedEarly: "upstreamClosedEarly"
        case .upstreamReset: "upstreamReset"
        case .malformedResponse: "malformedResponse"
        case .upstreamBodyTruncated: "upstreamBodyTruncated"
        case .requestHeadTimeout: "requestHeadTimeout"
        case .requestBodyTimeout: "requestBodyTimeout"
        case .clientClosedMidRequest: "clientClosedMidRequest"
        case .clientGone: "clientGone"
        case .clientFailed: "clientFailed"
        case .clientTimeout: "clientTimeout"
        }
    }

    @Test func tableHasARowForEveryFailure() {
        #expect(Set(Self.all.map { Self.caseName($0.failure) }).count == 19)
    }

    /// Every rule of the codec and the status a request that breaks it is answered with.
    static let parseErrorStatuses: [(HTTPParseError, Int)] = [
        (.bareLineFeed, 400), (.bareCarriageReturn, 400), (.headerSectionTooLarge, 431), (.tooManyFields, 431),
        (.targetTooLong, 414), (.invalidRequestLine, 400), (.invalidMethod, 400), (.invalidTarget, 400),
        (.invalidVersion, 400), (.unsupportedVersion, 505), (.invalidStatusLine, 400), (.invalidFieldName, 400),
        (.invalidFieldValue, 400), (.obsoleteLineFolding, 400), (.missingHost, 400), (.duplicateHost, 400),
        (.invalidHost, 400), (.invalidContentLength, 400), (.conflictingContentLength, 400),
        (.contentLengthWithTransferEncoding, 400), (.invalidTransferEncoding, 400), (.unsupportedTransferCoding, 501),
        (.transferEncodingInHTTP10, 400), (.invalidChunkSize, 400), (.chunkExtensionTooLong, 400),
        (.invalidChunkFraming, 400), (.trailerSectionTooLarge, 431), (.bodyTooLarge, 413),
        (.unsupportedExpectation, 417), (.connectNotSupported, 405), (.truncatedBody, 400),
    ]

    @Test(arguments: parseErrorStatuses)
    func malformedRequestIsAnsweredWithItsRulesStatus(_ error: HTTPParseError, _ status: Int) {
        let failure = ProxyFailure.malformedRequest(error)
        #expect(failure.status == status)
        #expect(failure.side == .downstream)
        #expect(failure.kind == .malformedRequest)
        #expect(failure.retryRule == .never)
        #expect(ProxyFailure.malformedResponse(error).status == 502)
        #expect(ProxyFailure.malformedResponse(error).side == .upstream)
    }

    @Test(arguments: [
        (ECONNREFUSED, ProxyFailure.connectRefused), (EHOSTUNREACH, .connectFailed(code: EHOSTUNREACH)),
        (ETIMEDOUT, .connectFailed(code: ETIMEDOUT)),
    ])
    func failedConnectIsRefusedOnlyForConnectionRefused(_ code: Int32, _ failure: ProxyFailure) {
        #expect(ProxyFailure.connect(code: code) == failure)
    }

    @Test(arguments: [
        (TunnelEnd.clientClosed, "client_closed"), (.upstreamClosed, "upstream_closed"), (.clientFailed, "client_error"),
        (.upstreamFailed, "upstream_error"), (.idleTimeout, "idle_timeout"), (.shutdown, "shutdown"),
    ])
    func tunnelEndHasItsAttributeValue(_ end: TunnelEnd, _ value: String) {
        #expect(end.rawValue == value)
    }
}
