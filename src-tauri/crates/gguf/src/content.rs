//! The parsed header: metadata values, tensor infos and where the tensor
//! data starts, read as Candle's `gguf_file::Content::read` reads them (so
//! the engine sees the same file), after `check` has bounded every length.
use std::collections::HashMap;
use std::io::Read;

use crate::error::WrongType;

/// The alignment of the tensor data when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// The largest `general.alignment` accepted (files use 32).
pub(crate) const MAX_ALIGNMENT: u64 = 1 << 20;

/// A metadata value. Arrays hold values of one type (not enforced here).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    String(String),
    Array(Vec<Value>),
}

macro_rules! exact {
    ($($name:ident -> $t:ty, $variant:ident, $what:literal;)*) => {$(
        #[doc = concat!("The value if it is a ", $what, ", else an error: no conversion.")]
        pub fn $name(&self) -> Result<$t, WrongType> {
            match self {
                Self::$variant(v) => Ok(*v),
                v => Err(v.wrong($what)),
            }
        }
    )*};
}

impl Value {
    exact! {
        to_u8 -> u8, U8, "u8";
        to_i8 -> i8, I8, "i8";
        to_u16 -> u16, U16, "u16";
        to_i16 -> i16, I16, "i16";
        to_u32 -> u32, U32, "u32";
        to_i32 -> i32, I32, "i32";
        to_i64 -> i64, I64, "i64";
        to_f32 -> f32, F32, "f32";
        to_f64 -> f64, F64, "f64";
        to_bool -> bool, Bool, "bool";
    }

    /// A u64, or an unsigned integer or bool that widens to one.
    pub fn to_u64(&self) -> Result<u64, WrongType> {
        match self {
            Self::U64(v) => Ok(*v),
            Self::U8(v) => Ok(*v as u64),
            Self::U16(v) => Ok(*v as u64),
            Self::U32(v) => Ok(*v as u64),
            Self::Bool(v) => Ok(*v as u64),
            v => Err(v.wrong("u64 or upcastable to u64")),
        }
    }

    pub fn to_vec(&self) -> Result<&Vec<Value>, WrongType> {
        match self {
            Self::Array(v) => Ok(v),
            v => Err(v.wrong("vec")),
        }
    }

    // The name Candle's `Value` gives it; it is no `Display`.
    #[allow(clippy::inherent_to_string)]
    pub fn to_string(&self) -> Result<&String, WrongType> {
        match self {
            Self::String(v) => Ok(v),
            v => Err(v.wrong("string")),
        }
    }

    fn wrong(&self, expected: &'static str) -> WrongType {
        WrongType { expected, found: format!("{self:?}") }
    }
}

/// A tensor's element type, with ggml's numbering.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GgmlDType {
    F32,
    F16,
    BF16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q8_1,
    Q2K,
    Q3K,
    Q4K,
    Q5K,
    Q6K,
    Q8K,
}

impl GgmlDType {
    /// ggml's type id; `None` for one Candle cannot run (IQ4_NL and others).
    pub fn from_u32(id: u32) -> Option<Self> {
        Some(match id {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::Q4_0,
            3 => Self::Q4_1,
            6 => Self::Q5_0,
            7 => Self::Q5_1,
            8 => Self::Q8_0,
            9 => Self::Q8_1,
            10 => Self::Q2K,
            11 => Self::Q3K,
            12 => Self::Q4K,
            13 => Self::Q5K,
            14 => Self::Q6K,
            15 => Self::Q8K,
            30 => Self::BF16,
            _ => return None,
        })
    }

    pub fn to_u32(self) -> u32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q4_0 => 2,
            Self::Q4_1 => 3,
            Self::Q5_0 => 6,
            Self::Q5_1 => 7,
            Self::Q8_0 => 8,
            Self::Q8_1 => 9,
            Self::Q2K => 10,
            Self::Q3K => 11,
            Self::Q4K => 12,
            Self::Q5K => 13,
            Self::Q6K => 14,
            Self::Q8K => 15,
            Self::BF16 => 30,
        }
    }

    /// Elements in one block.
    pub fn block_size(self) -> usize {
        match self {
            Self::F32 | Self::F16 | Self::BF16 => 1,
            Self::Q4_0 | Self::Q4_1 | Self::Q5_0 | Self::Q5_1 | Self::Q8_0 | Self::Q8_1 => 32,
            Self::Q2K | Self::Q3K | Self::Q4K | Self::Q5K | Self::Q6K | Self::Q8K => 256,
        }
    }

    /// Bytes in one block (ggml's block structs; the engine's tests check
    /// them against Candle's).
    pub fn type_size(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F16 | Self::BF16 => 2,
            Self::Q4_0 => 18,
            Self::Q4_1 => 20,
            Self::Q5_0 => 22,
            Self::Q5_1 => 24,
            Self::Q8_0 => 34,
            Self::Q8_1 => 36,
            Self::Q2K => 84,
            Self::Q3K => 110,
            Self::Q4K => 144,
            Self::Q5K => 176,
            Self::Q6K => 210,
            Self::Q8K => 292,
        }
    }
}

/// A tensor's dimensions, outermost first (the file stores them reversed).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Shape(Vec<usize>);

impl Shape {
    pub fn dims(&self) -> &[usize] {
        &self.0
    }

    /// The product of the dimensions; `check` bounds it at 2^56.
    pub fn elem_count(&self) -> usize {
        self.0.iter().product()
    }
}

impl From<Vec<usize>> for Shape {
    fn from(dims: Vec<usize>) -> Self {
        Self(dims)
    }
}

impl std::fmt::Debug for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

#[derive(Debug, Clone)]
pub struct TensorInfo {
    pub ggml_dtype: GgmlDType,
    pub shape: Shape,
    /// From the start of the tensor data (`Content::tensor_data_offset`).
    pub offset: u64,
}

impl TensorInfo {
    /// The bytes the tensor takes in the file: whole blocks of its type.
    pub fn bytes(&self) -> usize {
        self.shape.elem_count() / self.ggml_dtype.block_size() * self.ggml_dtype.type_size()
    }
}

/// The bytes a tensor takes in the file: whole blocks of its type.
pub fn tensor_bytes(info: &TensorInfo) -> usize {
    info.bytes()
}

/// A GGUF header: what a file says of itself before its tensor data.
#[derive(Debug, Default)]
pub struct Content {
    /// 1 to 3.
    pub version: u32,
    pub metadata: HashMap<String, Value>,
    pub tensor_infos: HashMap<String, TensorInfo>,
    /// Where the tensor data starts, from the start of the file.
    pub tensor_data_offset: u64,
}

/// Why a header did not parse; the caller adds the path.
pub(crate) enum ParseError {
    Io(std::io::Error),
    Corrupt(String),
    UnknownDtype(u32),
}

impl From<std::io::Error> for ParseError {
    fn from(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::UnexpectedEof => Self::Corrupt("the header ends early".into()),
            _ => Self::Io(e),
        }
    }
}

/// Reads a header from the start of `r`, counting the bytes it takes.
struct Parser<R> {
    r: R,
    pos: u64,
    wide: bool,
}

impl<R: Read> Parser<R> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], ParseError> {
        let mut b = [0u8; N];
        self.r.read_exact(&mut b)?;
        self.pos += N as u64;
        Ok(b)
    }

    fn u32(&mut self) -> Result<u32, ParseError> {
        self.bytes().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Result<u64, ParseError> {
        self.bytes().map(u64::from_le_bytes)
    }

    /// A length or count: 32 bits in version 1, 64 after.
    fn len(&mut self) -> Result<u64, ParseError> {
        if self.wide {
            self.u64()
        } else {
            self.u32().map(u64::from)
        }
    }

    fn string(&mut self) -> Result<String, ParseError> {
        let n = usize::try_from(self.len()?).map_err(|_| ParseError::Corrupt("a string is too long".into()))?;
        let mut v = vec![0u8; n];
        self.r.read_exact(&mut v)?;
        self.pos += n as u64;
        // Strings are not meant to end in NULs, but some writers add them.
        while v.last() == Some(&0) {
            v.pop();
        }
        // Nor to hold bad UTF-8, but some do.
        Ok(String::from_utf8_lossy(&v).into_owned())
    }

    fn value(&mut self, ty: u32) -> Result<Value, ParseError> {
        Ok(match ty {
            0 => Value::U8(self.bytes::<1>()?[0]),
            1 => Value::I8(self.bytes::<1>()?[0] as i8),
            2 => Value::U16(u16::from_le_bytes(self.bytes()?)),
            3 => Value::I16(i16::from_le_bytes(self.bytes()?)),
            4 => Value::U32(self.u32()?),
            5 => Value::I32(i32::from_le_bytes(self.bytes()?)),
            6 => Value::F32(f32::from_le_bytes(self.bytes()?)),
            7 => match self.bytes::<1>()?[0] {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => return Err(ParseError::Corrupt(format!("unexpected bool value {b}"))),
            },
            8 => Value::String(self.string()?),
            9 => {
                let elem = self.u32()?;
                let n = self.len()?;
                // `check` bounded `n` by the file's size and the memory cap.
                let mut items = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
                for _ in 0..n {
                    items.push(self.value(elem)?);
                }
                Value::Array(items)
            }
            10 => Value::U64(self.u64()?),
            11 => Value::I64(i64::from_le_bytes(self.bytes()?)),
            12 => Value::F64(f64::from_le_bytes(self.bytes()?)),
            t => return Err(ParseError::Corrupt(format!("unrecognized value-type {t:#08x}"))),
        })
    }
}

impl Content {
    /// Parses a header whose lengths `check::run` has already bounded
    /// against the file's size: on its own this allocates what lengths say.
    pub(crate) fn parse(r: impl Read) -> Result<Self, ParseError> {
        let mut p = Parser { r, pos: 0, wide: true };
        if p.bytes::<4>()? != *b"GGUF" {
            return Err(ParseError::Corrupt("the magic is not GGUF".into()));
        }
        let version = p.u32()?;
        if !(1..=3).contains(&version) {
            return Err(ParseError::Corrupt(format!("GGUF version {version} is not supported")));
        }
        p.wide = version >= 2;
        let tensors = p.len()?;
        let kvs = p.len()?;
        let mut metadata = HashMap::new();
        for _ in 0..kvs {
            let key = p.string()?;
            let ty = p.u32()?;
            let value = p.value(ty)?;
            metadata.insert(key, value);
        }
        let mut tensor_infos = HashMap::new();
        for _ in 0..tensors {
            let name = p.string()?;
            let n = p.u32()?;
            if n > 4 {
                return Err(ParseError::Corrupt(format!("a tensor claims {n} dimensions (at most 4)")));
            }
            let mut dims = Vec::with_capacity(n as usize);
            for _ in 0..n {
                let d = p.len()?;
                dims.push(usize::try_from(d).map_err(|_| ParseError::Corrupt(format!("a dimension of {d}")))?);
            }
            dims.reverse();
            let id = p.u32()?;
            let ggml_dtype = GgmlDType::from_u32(id).ok_or(ParseError::UnknownDtype(id))?;
            let offset = p.u64()?;
            tensor_infos.insert(name, TensorInfo { ggml_dtype, shape: Shape(dims), offset });
        }
        // As Candle reads it: a signed or unsigned integer up to 32 bits
        // (a u64 is ignored). `check` refused a bad one under the exact key;
        // this also covers a key that only matches once its NULs are cut.
        let alignment = match metadata.get("general.alignment") {
            Some(Value::U8(v)) => *v as i64,
            Some(Value::U16(v)) => *v as i64,
            Some(Value::U32(v)) => *v as i64,
            Some(Value::I8(v)) => *v as i64,
            Some(Value::I16(v)) => *v as i64,
            Some(Value::I32(v)) => *v as i64,
            _ => DEFAULT_ALIGNMENT as i64,
        };
        if alignment <= 0 || !(alignment as u64).is_power_of_two() || alignment as u64 > MAX_ALIGNMENT {
            return Err(ParseError::Corrupt(format!(
                "general.alignment {alignment} is not a power of two up to {MAX_ALIGNMENT}"
            )));
        }
        let tensor_data_offset = p.pos.div_ceil(alignment as u64) * alignment as u64;
        Ok(Self { version, metadata, tensor_infos, tensor_data_offset })
    }
}
