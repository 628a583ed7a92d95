/// A decoder made from a parsed head's framing: the one place a head's framing becomes
/// a body decoder, for requests and responses alike.
extension BodyDecoder {
    /// The decoder of a request body; nil when the request has none.
    public init?(for framing: RequestHead.Framing, limits: HTTPLimits = .default) {
        switch framing {
        case .none: return nil
        case .length(let length): self.init(framing: .length(length), limits: limits)
        case .chunked: self.init(framing: .chunked, limits: limits)
        }
    }

    /// The decoder of a response body; nil when the response has none.
    public init?(for framing: ResponseHead.Framing, limits: HTTPLimits = .default) {
        switch framing {
        case .none: return nil
        case .length(let length): self.init(framing: .length(length), limits: limits)
        case .chunked: self.init(framing: .chunked, limits: limits)
        case .untilClose: self.init(framing: .untilClose, limits: limits)
        }
    }
}
