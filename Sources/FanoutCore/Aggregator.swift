/// Folds values one at a time into a result, in memory that does not grow with the number of values
/// (except ``Collect``, by design).
public protocol Aggregator<Value>: Sendable {
    associatedtype Value
    associatedtype Result
    mutating func add(_ value: Value)
    var result: Result { get }
}

/// Counts values.
public struct Count<Value>: Aggregator {
    public private(set) var result = 0
    public init() {}
    public mutating func add(_ value: Value) { result += 1 }
}

/// Adds numbers.
public struct Sum<Value: AdditiveArithmetic & Sendable>: Aggregator {
    public private(set) var result: Value = .zero
    public init() {}
    public mutating func add(_ value: Value) { result += value }
}

/// Keeps every value, in arrival order.
public struct Collect<Value: Sendable>: Aggregator {
    public private(set) var result: [Value] = []
    public init() {}
    public mutating func add(_ value: Value) { result.append(value) }
}

/// Merges dictionaries, combining the values of equal keys: word counts, per-key statistics.
public struct MergeDictionaries<Key: Hashable & Sendable, Element: Sendable>: Aggregator {
    public private(set) var result: [Key: Element] = [:]
    let combine: @Sendable (Element, Element) -> Element

    public init(combine: @escaping @Sendable (Element, Element) -> Element) { self.combine = combine }

    public mutating func add(_ value: [Key: Element]) {
        result.merge(value, uniquingKeysWith: combine)
    }
}

extension MergeDictionaries where Element: AdditiveArithmetic {
    /// Adds the values of equal keys.
    public static var adding: MergeDictionaries { MergeDictionaries(combine: { $0 + $1 }) }
}

/// The `k` largest values by a score, kept in a bounded buffer.
public struct TopK<Value: Sendable>: Aggregator {
    public let k: Int
    let score: @Sendable (Value) -> Double
    private var kept: [(score: Double, value: Value)] = []

    public init(_ k: Int, by score: @escaping @Sendable (Value) -> Double) {
        self.k = max(0, k)
        self.score = score
    }

    public mutating func add(_ value: Value) {
        guard k > 0 else { return }
        let valueScore = score(value)
        if kept.count < k {
            kept.append((valueScore, value))
        } else if let minimum = kept.indices.min(by: { kept[$0].score < kept[$1].score }),
            valueScore > kept[minimum].score
        {
            kept[minimum] = (valueScore, value)
        }
    }

    /// Largest first.
    public var result: [Value] { kept.sorted { $0.score > $1.score }.map(\.value) }
}

/// Counts values into fixed buckets by upper bound.
public struct Histogram: Aggregator {
    /// Upper bounds of the buckets, ascending; a last bucket holds everything above.
    public let bounds: [Double]
    public private(set) var counts: [Int]

    public init(bounds: [Double]) {
        self.bounds = bounds.sorted()
        self.counts = Array(repeating: 0, count: bounds.count + 1)
    }

    public mutating func add(_ value: Double) {
        let index = bounds.firstIndex { value <= $0 } ?? bounds.count
        counts[index] += 1
    }

    /// Each bucket's upper bound (`nil` for the last) and count.
    public var result: [(upperBound: Double?, count: Int)] {
        counts.enumerated().map { ($0.offset < bounds.count ? bounds[$0.offset] : nil, $0.element) }
    }
}
