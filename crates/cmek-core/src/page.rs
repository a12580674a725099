//! `page` / `page_size` of the v1beta list operations.

use crate::error::FieldError;

pub const DEFAULT_PAGE: i64 = 1;
pub const DEFAULT_PAGE_SIZE: i64 = 10;
/// v1beta documents no maximum; one keeps a single answer bounded.
pub const MAX_PAGE_SIZE: i64 = 100;

/// A checked page request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub page: i64,
    pub page_size: i64,
}

impl Default for Page {
    fn default() -> Self {
        Self { page: DEFAULT_PAGE, page_size: DEFAULT_PAGE_SIZE }
    }
}

impl Page {
    /// From the raw query values (absent → the defaults).
    pub fn parse(page: Option<&str>, page_size: Option<&str>) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut num = |name: &str, raw: Option<&str>, default: i64, max: Option<i64>| -> i64 {
            let Some(raw) = raw else { return default };
            match raw.parse::<i64>() {
                Err(_) => {
                    errors.push(FieldError::new(name, format!("\"{raw}\" is not a whole number")));
                    default
                }
                Ok(n) if n < 1 => {
                    errors.push(FieldError::new(name, format!("{n} is below 1")));
                    default
                }
                Ok(n) if max.is_some_and(|m| n > m) => {
                    errors.push(FieldError::new(name, format!("{n} is above the maximum of {}", max.unwrap_or(n))));
                    default
                }
                Ok(n) => n,
            }
        };
        let page = num("page", page, DEFAULT_PAGE, None);
        let page_size = num("page_size", page_size, DEFAULT_PAGE_SIZE, Some(MAX_PAGE_SIZE));
        if errors.is_empty() { Ok(Self { page, page_size }) } else { Err(errors) }
    }

    /// Rows to skip; saturates rather than overflowing for absurd page numbers.
    pub fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.page_size)
    }

    /// How many pages `total` items make (at least 1).
    pub fn count(total: i64, page_size: i64) -> i64 {
        let size = page_size.max(1);
        if total <= 0 { 1 } else { total / size + i64::from(total % size != 0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors() {
        assert_eq!(Page::parse(None, None), Ok(Page { page: 1, page_size: 10 }));
        assert_eq!(Page::parse(Some("3"), Some("100")), Ok(Page { page: 3, page_size: 100 }));
        let e = Page::parse(Some("x"), Some("0")).unwrap_err();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].field, "page");
        assert!(e[0].message.contains("\"x\""));
        assert!(Page::parse(None, Some("101")).unwrap_err()[0].message.contains("maximum of 100"));
        assert_eq!(Page { page: i64::MAX, page_size: 100 }.offset(), i64::MAX);
        assert_eq!(Page::count(0, 10), 1);
        assert_eq!(Page::count(101, 10), 11);
    }
}
