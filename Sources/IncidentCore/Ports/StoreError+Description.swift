/// How a store failure reads in a log line or on a terminal: the reason, without Swift's enum spelling.
extension StoreError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .conflict(let id): "\(id) changed while this change was being saved"
        case .duplicate(let key): "already processed: \(key)"
        case .leaseLost(let id): "the lease on timer \(id) expired and another scheduler took it"
        case .notFound: "not found"
        case .unavailable(let reason): reason
        }
    }
}
