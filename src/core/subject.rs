//! Actor ids as NATS subject tokens (and JetStream key-value key parts): a
//! documented, reversible encoding. ASCII letters, digits, `-` and `_` stand for
//! themselves; every other byte of the id's UTF-8 is written `=XX` (two
//! uppercase hex digits). `order-7` stays `order-7`; `a.b` becomes `a=2Eb`.

use super::error::InvalidInput;

/// The longest token an actor id may become; NATS control lines are 4 KiB.
pub const MAX_TOKEN_LENGTH: usize = 1024;

/// The subject token of an actor id.
pub fn encode_actor(actor_id: &str) -> Result<String, InvalidInput> {
    if actor_id.is_empty() {
        return Err(InvalidInput::new("actorId", "must not be empty"));
    }
    let mut token = String::with_capacity(actor_id.len());
    for byte in actor_id.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            token.push(char::from(byte));
        } else {
            token.push('=');
            token.push(hex_digit(byte >> 4));
            token.push(hex_digit(byte & 0x0f));
        }
        if token.len() > MAX_TOKEN_LENGTH {
            return Err(InvalidInput::new(
                "actorId",
                format!("is too long to be a subject token (over {MAX_TOKEN_LENGTH} characters once encoded)"),
            ));
        }
    }
    Ok(token)
}

/// The actor id a subject token stands for, if it is a valid encoding.
pub fn decode_actor(token: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(token.len());
    let mut rest = token.bytes();
    while let Some(byte) = rest.next() {
        if byte == b'=' {
            let high = hex_value(rest.next()?)?;
            let low = hex_value(rest.next()?)?;
            bytes.push(high << 4 | low);
        } else if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            bytes.push(byte);
        } else {
            return None;
        }
    }
    String::from_utf8(bytes).ok().filter(|id| !id.is_empty())
}

fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16)
        .unwrap_or('0')
        .to_ascii_uppercase()
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .filter(|_| !digit.is_ascii_lowercase())
        .and_then(|value| u8::try_from(value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ids_stay_readable_and_the_rest_is_escaped() {
        assert_eq!(encode_actor("order-7").unwrap(), "order-7");
        assert_eq!(encode_actor("a.b c*>").unwrap(), "a=2Eb=20c=2A=3E");
        assert_eq!(encode_actor("ü=").unwrap(), "=C3=BC=3D");
    }

    #[test]
    fn encoding_is_reversible() {
        for id in [
            "order-7",
            "a.b c*>",
            "ü=",
            "😀 emoji",
            "tab\tnew\nline",
            "=41",
        ] {
            assert_eq!(
                decode_actor(&encode_actor(id).unwrap()).as_deref(),
                Some(id)
            );
        }
        assert_eq!(decode_actor("a=2"), None);
        assert_eq!(decode_actor("a.b"), None);
        assert_eq!(decode_actor("=2e"), None, "only uppercase hex is produced");
        assert_eq!(decode_actor("=FF"), None, "not UTF-8");
    }

    #[test]
    fn empty_and_overlong_ids_are_refused() {
        assert!(encode_actor("").is_err());
        assert!(encode_actor(&"a".repeat(MAX_TOKEN_LENGTH)).is_ok());
        assert_eq!(
            encode_actor(&"a".repeat(MAX_TOKEN_LENGTH + 1))
                .unwrap_err()
                .field,
            "actorId"
        );
        assert!(encode_actor(&".".repeat(400)).is_err());
    }
}
