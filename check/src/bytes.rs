//! Turning fuzz bytes into values, biased towards the edges (0, 1, widths, `MAX`).

/// A cursor over fuzz input; reads past the end yield zeros.
#[derive(Debug)]
pub struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    /// A cursor at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// Whether the input is used up.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next byte (0 past the end).
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn le(&mut self, n: usize) -> u64 {
        (0..n).fold(0u64, |acc, i| acc | (u64::from(self.u8()) << (8 * i)))
    }

    /// A number below `n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        usize::from(self.u8()) % n
    }

    /// The next byte's low bit.
    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    /// A `u64`, usually small or at an edge.
    pub fn u64(&mut self) -> u64 {
        match self.u8() % 8 {
            0 => 0,
            1 => 1,
            2 => u64::MAX - 1,
            3 => u64::MAX,
            4 => self.le(1),
            5 => self.le(2),
            6 => self.le(4),
            _ => self.le(8),
        }
    }

    /// A `u32`, usually small or at an edge.
    pub fn u32(&mut self) -> u32 {
        match self.u8() % 6 {
            0 => 0,
            1 => u32::MAX - 1,
            2 => u32::MAX,
            3 => self.le(1) as u32,
            4 => self.le(2) as u32,
            _ => self.le(4) as u32,
        }
    }

    /// A count, usually small, sometimes at or past the packed width (`2^32 - 2`).
    pub fn count(&mut self) -> usize {
        match self.u8() % 8 {
            0 => 0,
            1 => (u32::MAX - 1) as usize,
            2 => u32::MAX as usize,
            3 => usize::MAX,
            4 | 5 => self.le(1) as usize,
            6 => self.le(2) as usize,
            _ => self.le(8) as usize,
        }
    }

    /// A signed nanosecond offset from the tracker's base (negative: before it).
    pub fn offset(&mut self) -> i64 {
        match self.u8() % 6 {
            0 => 0,
            1 => self.le(1) as i64 * 1_000,
            2 => -(self.le(1) as i64 * 1_000),
            3 => self.le(4) as i64,
            4 => (self.le(8) >> 2) as i64,
            _ => self.le(2) as i64 * 1_000_000,
        }
    }

    /// An `f64`, usually a small whole or fractional number, often an edge the contract rejects
    /// or clamps: `±0.0`, NaN, `±∞`, a negative, a huge finite value, or any bit pattern.
    pub fn float(&mut self) -> f64 {
        match self.u8() % 12 {
            0 => 0.0,
            1 => -0.0,
            2 => f64::NAN,
            3 => f64::INFINITY,
            4 => f64::NEG_INFINITY,
            5 => -(self.le(1) as f64) - 0.5,
            6 => self.le(1) as f64,
            7 => self.le(2) as f64 / 4.0,
            8 => self.le(4) as f64 / 1e6,
            9 => 1e300,
            10 => f64::MAX,
            _ => f64::from_bits(self.le(8)),
        }
    }
}
