extension Int {
    /// The number in decimal with leading zeros up to `width` digits (`7.zeroPadded(3)` is "007"), as
    /// `%0Nd` prints it, without a trip through Foundation's `String(format:)`: channel names, labels and
    /// dates are built on every declaration.
    func zeroPadded(_ width: Int) -> String {
        let digits = String(magnitude)
        let padded = digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
        return self < 0 ? "-" + padded : padded
    }
}
