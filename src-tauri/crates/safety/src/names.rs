//! An enum's names in words are its serde names, written once in its
//! `#[serde(rename_all = …)]` (or a variant's `rename`): `as_str` and
//! `FromStr` read them from there instead of from match arms of their own.
//! For enums of unit variants (`Risk`, `Level`, the suggest crate's `Shell`).
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::ser::{self, Impossible, Serialize};

/// The serde name of a unit variant: `name(&Risk::High)` is `"high"`.
pub fn name<T: Serialize>(v: &T) -> &'static str {
    match v.serialize(Name) {
        Ok(n) => n,
        Err(_) => panic!("{} is not a unit variant", std::any::type_name::<T>()),
    }
}

/// The variant serde reads from `s`, if any.
pub fn from_name<T: DeserializeOwned>(s: &str) -> Option<T> {
    let d: de::value::StrDeserializer<'_, de::value::Error> = s.into_deserializer();
    T::deserialize(d).ok()
}

/// As `from_name`, with an error naming `what` and the names it takes:
/// "unknown safety level 'x' (strict, moderate, permissive)".
pub fn parse<T: DeserializeOwned>(s: &str, what: &str) -> Result<T, String> {
    from_name(s).ok_or_else(|| format!("unknown {what} '{s}' ({})", variants::<T>().join(", ")))
}

/// Every variant's serde name, in order.
pub fn variants<T: DeserializeOwned>() -> &'static [&'static str] {
    match T::deserialize(Variants) {
        Err(Found(v)) => v,
        Ok(_) => &[],
    }
}

/// Takes a unit variant's name from serde's `serialize_unit_variant`.
struct Name;

/// Carries the variant names serde hands to `deserialize_enum`; also the
/// error of anything that is not a unit variant.
#[derive(Debug)]
struct Found(&'static [&'static str]);

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not an enum of unit variants")
    }
}

impl std::error::Error for Found {}

impl ser::Error for Found {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Found(&[])
    }
}

impl de::Error for Found {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Found(&[])
    }
}

/// The Serializer methods that refuse: everything but a unit variant.
macro_rules! refuse {
    ($($f:ident($($t:ty),*);)*) => {
        $(fn $f(self, $(_: $t),*) -> Result<&'static str, Found> { Err(Found(&[])) })*
    };
}

impl ser::Serializer for Name {
    type Ok = &'static str;
    type Error = Found;
    type SerializeSeq = Impossible<&'static str, Found>;
    type SerializeTuple = Impossible<&'static str, Found>;
    type SerializeTupleStruct = Impossible<&'static str, Found>;
    type SerializeTupleVariant = Impossible<&'static str, Found>;
    type SerializeMap = Impossible<&'static str, Found>;
    type SerializeStruct = Impossible<&'static str, Found>;
    type SerializeStructVariant = Impossible<&'static str, Found>;

    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<&'static str, Found> {
        Ok(variant)
    }

    refuse! {
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32); serialize_i64(i64);
        serialize_u8(u8); serialize_u16(u16); serialize_u32(u32); serialize_u64(u64);
        serialize_f32(f32); serialize_f64(f64); serialize_char(char); serialize_str(&str);
        serialize_bytes(&[u8]); serialize_none(); serialize_unit(); serialize_unit_struct(&'static str);
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<&'static str, Found> {
        Err(Found(&[]))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, _: &T) -> Result<&'static str, Found> {
        Err(Found(&[]))
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<&'static str, Found> {
        Err(Found(&[]))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Found> {
        Err(Found(&[]))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Found> {
        Err(Found(&[]))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, Found> {
        Err(Found(&[]))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Found> {
        Err(Found(&[]))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Found> {
        Err(Found(&[]))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Found> {
        Err(Found(&[]))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Found> {
        Err(Found(&[]))
    }
}

/// Asks a type for its variants: serde's derive names them all to
/// `deserialize_enum`.
struct Variants;

impl<'de> de::Deserializer<'de> for Variants {
    type Error = Found;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        Err(Found(&[]))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Found> {
        Err(Found(variants))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Action, Dialect, Level, Risk};

    /// Each name reads back as its variant, and is the name in JSON.
    fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(n: usize) {
        let all = variants::<T>();
        assert_eq!(all.len(), n, "{all:?}");
        for &v in all {
            let t: T = parse(v, "thing").unwrap();
            assert_eq!(name(&t), v);
            assert_eq!(serde_json::to_value(&t).unwrap(), serde_json::json!(v));
        }
    }

    #[test]
    fn the_names_are_the_serde_names() {
        round_trip::<Risk>(4);
        round_trip::<Level>(3);
        round_trip::<Action>(3);
        round_trip::<Dialect>(3);
        assert_eq!(Risk::Critical.as_str(), "critical");
        assert_eq!(Level::Permissive.as_str(), "permissive");
        assert_eq!(Dialect::Zsh.name(), "zsh");
        assert_eq!("strict".parse::<Level>(), Ok(Level::Strict));
    }

    #[test]
    fn an_unknown_name_says_which_are_known() {
        assert_eq!("lax".parse::<Level>().unwrap_err(), "unknown safety level 'lax' (strict, moderate, permissive)");
        // Case matters, as in the settings file.
        assert!("Strict".parse::<Level>().is_err());
    }
}
