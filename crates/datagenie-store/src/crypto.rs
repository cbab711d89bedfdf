//! The server's secrets at rest: the master key, the keys derived from it, and the box that encrypts what the
//! system database must keep but never hold in clear (a connection's URL, which carries its password).
//!
//! - [`MasterKey`]: 32 random bytes, given as 64 hexadecimal characters (`DATAGENIE_SECRET_KEY`,
//!   [`MasterKey::from_hex`]) or kept in a key file readable by its owner only ([`MasterKey::load_or_create`]).
//!   It is never used directly: every use gets its own sub-key, [`MasterKey::derive`] (HKDF-SHA256, RFC 5869, with
//!   the use's label as `info`), so a key for signing tokens and one for encrypting URLs are unrelated.
//! - [`SecretBox`]: AES-256-GCM with a fresh random 96-bit nonce per message. A sealed message is
//!   `version (1 byte) ‖ nonce (12) ‖ ciphertext ‖ tag (16)`; the associated data — authenticated, not stored — is
//!   the version byte followed by what the caller binds the message to (a connection's id), so a ciphertext copied
//!   into another row does not decrypt there.
//!
//! Nothing here prints a key: `Debug` shows a redaction, errors name files and reasons, never bytes.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, Generate, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use datagenie_core::{Error, ErrorCode};
use hkdf::Hkdf;
use sha2::Sha256;

/// The label of the sub-key that encrypts stored connection URLs ([`SecretBox::for_connections`]).
pub const CONNECTION_KEY_LABEL: &str = "datagenie connection encryption v1";
/// The label of the sub-key the server signs its access tokens with.
pub const TOKEN_SIGNING_LABEL: &str = "datagenie token signing v1";

/// HKDF's salt: fixed, so a master key always derives the same sub-keys (RFC 5869 §3.1 allows a non-secret
/// constant; it separates DataGenie's derivations from any other use of the same bytes).
const HKDF_SALT: &[u8] = b"datagenie master key v1";

/// The format of a sealed message; a new format gets a new number and `open` keeps reading the old ones.
const SEALED_V1: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// The shortest sealed message: the version, the nonce and the tag of an empty plaintext.
pub const MIN_SEALED_LEN: usize = 1 + NONCE_LEN + TAG_LEN;

/// The key file's longest acceptable size: 64 hexadecimal characters and some whitespace.
const MAX_KEY_FILE_LEN: u64 = 256;

/// `N` fresh random bytes from the operating system (tokens, key secrets, salts).
pub fn random_bytes<const N: usize>() -> Result<[u8; N], Error> {
    <[u8; N]>::try_generate().map_err(|e| {
        Error::new(ErrorCode::Internal, format!("the operating system's random number generator failed: {e}"))
    })
}

/// The master key: 32 bytes from which every other key is derived. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey([u8; 32]);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

fn invalid_config(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidConfig, message)
}

impl MasterKey {
    /// A key from 64 hexadecimal characters (surrounding whitespace ignored), as `DATAGENIE_SECRET_KEY` holds it.
    /// Errors: [`ErrorCode::InvalidConfig`], saying what is wrong but never echoing the text.
    pub fn from_hex(text: &str) -> Result<MasterKey, Error> {
        parse_hex_key(text).map(MasterKey).map_err(|why| invalid_config(format!("the secret key {why}")))
    }

    /// 32 fresh random bytes from the operating system.
    pub fn generate() -> Result<MasterKey, Error> {
        <[u8; 32]>::try_generate().map(MasterKey).map_err(|e| {
            Error::new(ErrorCode::Internal, format!("the operating system's random number generator failed: {e}"))
        })
    }

    /// The key in the file at `path`, or a new random key written there when the file does not exist.
    ///
    /// The file holds the key as 64 hexadecimal characters and a line break. It is created with mode 0600 and
    /// atomically: written in full to a temporary file beside it, then linked into place only if no file is there
    /// yet, so two processes starting together end up with the same key and no one reads a half-written file.
    /// A file that exists is refused — [`ErrorCode::InvalidConfig`] — when it is not a regular file, when anyone
    /// but its owner may read or write it (on Unix: any of the mode bits 0077), or when it does not hold exactly a
    /// 32-byte key.
    pub fn load_or_create(path: &Path) -> Result<MasterKey, Error> {
        match load(path)? {
            Some(key) => Ok(key),
            None => create(path),
        }
    }

    /// The sub-key for one use: HKDF-SHA256 of the master key, with `label` as the context (`info`). Different
    /// labels give independent keys; the same label always gives the same key.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        let hk = Hkdf::<Sha256>::new(Some(HKDF_SALT), &self.0);
        let mut out = [0u8; 32];
        // HKDF-SHA256 can expand up to 255 × 32 bytes; 32 is always accepted, whatever the label.
        hk.expand(label.as_bytes(), &mut out).expect("32 bytes is a valid HKDF-SHA256 output length");
        out
    }

    /// The key as 64 lower-case hexadecimal characters: what the key file and `DATAGENIE_SECRET_KEY` hold. For
    /// writing the key where it belongs, never for printing.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// 32 bytes from 64 hexadecimal characters; the error says why not (without the text).
fn parse_hex_key(text: &str) -> Result<[u8; 32], String> {
    let text = text.trim();
    let n = text.chars().count();
    if n != 64 {
        return Err(format!("must be 64 hexadecimal characters (32 bytes); it has {n} characters"));
    }
    let mut out = [0u8; 32];
    for (slot, pair) in out.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        let digit = |c: u8| char::from(c).to_digit(16);
        match (digit(pair[0]), digit(pair[1])) {
            (Some(hi), Some(lo)) => *slot = u8::try_from(hi * 16 + lo).map_err(|_| "is malformed".to_string())?,
            _ => return Err("must be 64 hexadecimal characters (0-9, a-f); it has other characters".to_string()),
        }
    }
    Ok(out)
}

/// The key in an existing file; `None` when there is no file.
fn load(path: &Path) -> Result<Option<MasterKey>, Error> {
    let shown = path.display();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(invalid_config(format!("cannot read the key file {shown}: {e}"))),
    };
    if !meta.is_file() {
        return Err(invalid_config(format!("the key file {shown} is not a regular file")));
    }
    check_private(path, &meta)?;
    if meta.len() > MAX_KEY_FILE_LEN {
        return Err(invalid_config(format!(
            "the key file {shown} must hold 64 hexadecimal characters (a 32-byte key); it holds {} bytes",
            meta.len()
        )));
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| invalid_config(format!("cannot read the key file {shown}: {e}")))?;
    parse_hex_key(&text)
        .map(|k| Some(MasterKey(k)))
        .map_err(|why| invalid_config(format!("the key file {shown} {why}")))
}

#[cfg(unix)]
fn check_private(path: &Path, meta: &std::fs::Metadata) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(invalid_config(format!(
            "the key file {} has mode {mode:04o}: others may read it; it must be 0600 (chmod 600 {})",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _meta: &std::fs::Metadata) -> Result<(), Error> {
    Ok(())
}

/// A new key written atomically to `path`, or the key another process wrote there first.
fn create(path: &Path) -> Result<MasterKey, Error> {
    let shown = path.display();
    let cannot = |e: std::io::Error| invalid_config(format!("cannot create the key file {shown}: {e}"));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir).map_err(cannot)?;
    }
    let key = MasterKey::generate()?;
    let tmp = temp_path(path)?;
    let written = write_private(&tmp, &key).and_then(|()| std::fs::hard_link(&tmp, path));
    // The temporary name goes whatever happened; the key, if linked, stays under `path`.
    let _ = std::fs::remove_file(&tmp);
    match written {
        Ok(()) => Ok(key),
        // Another process created it between our look and our link: its key is the one.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load(path)?.ok_or_else(|| {
            invalid_config(format!("the key file {shown} appeared and vanished while it was being created"))
        }),
        Err(e) => Err(cannot(e)),
    }
}

/// A name beside `path` that no other process picks.
fn temp_path(path: &Path) -> Result<PathBuf, Error> {
    let random = <[u8; 8]>::try_generate().map_err(|e| {
        Error::new(ErrorCode::Internal, format!("the operating system's random number generator failed: {e}"))
    })?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "key".to_string());
    Ok(path.with_file_name(format!(".{name}.{}.{}.tmp", std::process::id(), hex(&random))))
}

fn write_private(tmp: &Path, key: &MasterKey) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(tmp)?;
    file.write_all(format!("{}\n", key.to_hex()).as_bytes())?;
    file.sync_all()
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Authenticated encryption of small secrets (AES-256-GCM, random nonces). See the module documentation for the
/// format. Never printed.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox([redacted])")
    }
}

/// A failure to open a sealed message: the store adds where the message came from.
fn undecryptable(why: &str) -> Error {
    Error::new(ErrorCode::SystemDatabase, format!("cannot decrypt a stored secret: {why}"))
}

impl SecretBox {
    /// A box with this 32-byte key.
    pub fn new(key: &[u8; 32]) -> SecretBox {
        SecretBox { cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key)) }
    }

    /// The box of stored connection URLs: the master key's [`CONNECTION_KEY_LABEL`] sub-key.
    pub fn for_connections(master: &MasterKey) -> SecretBox {
        SecretBox::new(&master.derive(CONNECTION_KEY_LABEL))
    }

    /// `plaintext` encrypted and bound to `associated` (which must be given again to open it).
    pub fn seal(&self, plaintext: &[u8], associated: &[u8]) -> Result<Vec<u8>, Error> {
        let nonce = <[u8; NONCE_LEN]>::try_generate().map_err(|e| {
            Error::new(ErrorCode::Internal, format!("the operating system's random number generator failed: {e}"))
        })?;
        let aad = [&[SEALED_V1][..], associated].concat();
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad: &aad })
            .map_err(|_| Error::new(ErrorCode::Internal, "cannot encrypt a secret (it is too long)"))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(SEALED_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The plaintext of a message [`seal`](Self::seal)ed with the same key and `associated` data. Errors
    /// ([`ErrorCode::SystemDatabase`]): a message too short or of an unknown version, or one that does not
    /// authenticate — another key, other associated data (another row), or changed bytes.
    pub fn open(&self, sealed: &[u8], associated: &[u8]) -> Result<Vec<u8>, Error> {
        if sealed.len() < MIN_SEALED_LEN {
            return Err(undecryptable(&format!("it is {} bytes long, shorter than any sealed message", sealed.len())));
        }
        let (version, rest) = sealed.split_at(1);
        if version[0] != SEALED_V1 {
            return Err(undecryptable(&format!("unknown format version {}", version[0])));
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| undecryptable("malformed nonce"))?;
        let aad = [version, associated].concat();
        self.cipher.decrypt(&Nonce::from(nonce), Payload { msg: body, aad: &aad }).map_err(|_| {
            undecryptable(
                "it does not authenticate: the secret key is not the one it was written with (DATAGENIE_SECRET_KEY \
                 or the key file changed), or the stored bytes were changed or moved from another row",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn hex_keys_parse_and_bad_ones_are_refused_without_echo() {
        let key = MasterKey::from_hex(&format!("  {HEX}\n")).expect("key");
        assert_eq!(key.to_hex(), HEX);
        assert_eq!(MasterKey::from_hex(&HEX.to_uppercase()).expect("upper"), key);
        for bad in ["", "abc", &HEX[..62], &format!("{HEX}00"), &format!("{}zz", &HEX[..62]), &"é".repeat(64)] {
            let e = MasterKey::from_hex(bad).expect_err(bad);
            assert_eq!(e.code, ErrorCode::InvalidConfig, "{bad}");
            if !bad.is_empty() {
                assert!(!e.message.contains(bad.trim()), "echoed: {}", e.message);
            }
        }
        assert_eq!(format!("{key:?}"), "MasterKey([redacted])");
        assert!(!format!("{:?}", SecretBox::for_connections(&key)).contains("0a0b"));
    }

    #[test]
    fn derivation_is_deterministic_and_separates_labels() {
        let a = MasterKey::from_hex(HEX).expect("key");
        let b = MasterKey::from_hex(&HEX.replace("1f", "1e")).expect("key");
        assert_eq!(a.derive(TOKEN_SIGNING_LABEL), a.derive(TOKEN_SIGNING_LABEL));
        assert_ne!(a.derive(TOKEN_SIGNING_LABEL), a.derive(CONNECTION_KEY_LABEL));
        assert_ne!(a.derive(TOKEN_SIGNING_LABEL), b.derive(TOKEN_SIGNING_LABEL));
        assert_ne!(&a.derive(TOKEN_SIGNING_LABEL)[..], &a.0[..], "a sub-key is not the master key");
        // Fixed vectors (computed independently with Python's hmac module: HKDF-SHA256, this salt, the label as
        // info), so a change of derivation cannot pass unnoticed: every stored URL would become unreadable and every
        // token invalid.
        assert_eq!(
            hex(&a.derive(CONNECTION_KEY_LABEL)),
            "ba48625c18a5a50cbdb9b2eb9ac508394979f35354a079e337d25bc1a017ed16"
        );
        assert_eq!(
            hex(&a.derive(TOKEN_SIGNING_LABEL)),
            "5e8a5c63acd12f48c133291f8a5bebf71bc6ed2878f944f60c6b10f0fe1aba2d"
        );
    }

    #[test]
    fn hkdf_matches_rfc_5869_test_case_1() {
        // RFC 5869 A.1, to show the construction is standard HKDF-SHA256.
        let ikm = [0x0bu8; 22];
        let salt: Vec<u8> = (0x00..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        let mut okm = [0u8; 42];
        Hkdf::<Sha256>::new(Some(&salt), &ikm).expand(&info, &mut okm).expect("expand");
        assert_eq!(hex(&okm), "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
    }

    #[test]
    fn sealing_round_trips_and_every_tampering_is_an_error_not_a_panic() {
        let key = MasterKey::from_hex(HEX).expect("key");
        let sb = SecretBox::for_connections(&key);
        let url = b"postgres://reader:Sup3r-s3cret@db:5432/sales";
        let row = b"3f0c1d2e-0000-4000-8000-000000000001";
        let sealed = sb.seal(url, row).expect("seal");
        assert_eq!(sealed.len(), MIN_SEALED_LEN + url.len());
        assert_eq!(sealed[0], SEALED_V1);
        assert!(!sealed.windows(6).any(|w| w == b"s3cret"), "the plaintext shows");
        assert_eq!(sb.open(&sealed, row).expect("open"), url);
        // a fresh nonce every time: the same plaintext seals differently
        let again = sb.seal(url, row).expect("seal");
        assert_ne!(again, sealed);
        assert_eq!(sb.open(&again, row).expect("open"), url);
        // empty plaintext is fine
        assert_eq!(sb.open(&sb.seal(b"", row).expect("seal"), row).expect("open"), b"");

        // every single flipped bit anywhere is refused
        for i in 0..sealed.len() {
            let mut t = sealed.clone();
            t[i] ^= 0x01;
            let e = sb.open(&t, row).expect_err("tampered");
            assert_eq!(e.code, ErrorCode::SystemDatabase, "byte {i}");
        }
        // truncated, extended, empty
        for t in [&sealed[..sealed.len() - 1], &sealed[..MIN_SEALED_LEN - 1], &[][..], &[SEALED_V1][..]] {
            assert_eq!(sb.open(t, row).expect_err("short").code, ErrorCode::SystemDatabase);
        }
        let mut longer = sealed.clone();
        longer.push(0);
        assert_eq!(sb.open(&longer, row).expect_err("long").code, ErrorCode::SystemDatabase);

        // another row's associated data: the ciphertext does not move
        let e = sb.open(&sealed, b"3f0c1d2e-0000-4000-8000-000000000002").expect_err("moved");
        assert!(e.message.contains("moved from another row"), "{}", e.message);
        // another key: the master key changed, or the token-signing sub-key used by mistake
        let other = SecretBox::new(&key.derive(TOKEN_SIGNING_LABEL));
        assert_eq!(other.open(&sealed, row).expect_err("wrong key").code, ErrorCode::SystemDatabase);
        let other_master = MasterKey::generate().expect("generate");
        assert_eq!(
            SecretBox::for_connections(&other_master).open(&sealed, row).expect_err("wrong key").code,
            ErrorCode::SystemDatabase
        );
        // an unknown version is named
        let mut v2 = sealed.clone();
        v2[0] = 2;
        assert!(sb.open(&v2, row).expect_err("v2").message.contains("version 2"));
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).expect("meta").permissions().mode() & 0o777
    }

    #[cfg(unix)]
    #[test]
    fn the_key_file_is_created_private_reused_and_refused_when_loose_or_malformed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("data").join("secret.key");
        let created = MasterKey::load_or_create(&path).expect("create");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().expect("dir")), 0o700);
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text, format!("{}\n", created.to_hex()));
        // no temporary file is left beside it
        let names: Vec<_> = std::fs::read_dir(path.parent().expect("dir"))
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["secret.key".to_string()]);
        // loading again gives the same key
        assert_eq!(MasterKey::load_or_create(&path).expect("load"), created);

        // looser permissions are refused, naming the mode and the fix
        for loose in [0o644, 0o640, 0o604, 0o660, 0o700 | 0o007] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(loose)).expect("chmod");
            let e = MasterKey::load_or_create(&path).expect_err("loose");
            assert_eq!(e.code, ErrorCode::InvalidConfig);
            assert!(e.message.contains(&format!("{loose:04o}")) && e.message.contains("chmod 600"), "{}", e.message);
            assert!(!e.message.contains(&created.to_hex()), "{}", e.message);
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).expect("chmod");
        assert_eq!(MasterKey::load_or_create(&path).expect("read-only is fine"), created);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");

        // wrong length or content: refused, never replaced
        for bad in [&created.to_hex()[..63], "", "not a key at all", &"ab".repeat(40)] {
            std::fs::write(&path, bad).expect("write");
            let e = MasterKey::load_or_create(&path).expect_err("malformed");
            assert_eq!(e.code, ErrorCode::InvalidConfig, "{bad}");
            assert_eq!(std::fs::read_to_string(&path).expect("read"), bad, "the file was replaced");
        }
        std::fs::write(&path, vec![b'a'; 10_000]).expect("write");
        assert_eq!(MasterKey::load_or_create(&path).expect_err("huge").code, ErrorCode::InvalidConfig);
        // a directory where the file should be
        let e = MasterKey::load_or_create(dir.path()).expect_err("dir");
        assert_eq!(e.code, ErrorCode::InvalidConfig);
    }

    #[cfg(unix)]
    #[test]
    fn concurrent_creators_agree_on_one_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secret.key");
        let keys: Vec<MasterKey> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8).map(|_| s.spawn(|| MasterKey::load_or_create(&path))).collect();
            handles.into_iter().map(|h| h.join().expect("thread").expect("key")).collect()
        });
        assert!(keys.iter().all(|k| *k == keys[0]), "two processes got different keys");
        assert_eq!(MasterKey::load_or_create(&path).expect("load"), keys[0]);
        assert_eq!(mode(&path), 0o600);
    }
}
