//! The two languages of the pages: Chinese by default, English as a choice. The
//! choice comes from the `lang` cookie (set by the switch), else from the browser's
//! Accept-Language.

use axum::http::HeaderMap;
use axum_extra::extract::CookieJar;
use serde::Serialize;

/// A page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// 中文, the default.
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The language's tag.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// Parses `zh` or `en`.
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The language a request asks for: the cookie, else the first of Accept-Language's
    /// languages we have (by quality), else Chinese.
    pub fn of(jar: &CookieJar, headers: &HeaderMap) -> Lang {
        if let Some(l) = jar.get("lang").and_then(|c| Lang::parse(c.value())) {
            return l;
        }
        let accept = headers.get("accept-language").and_then(|v| v.to_str().ok()).unwrap_or("");
        let mut best: Option<(f32, Lang)> = None;
        for part in accept.split(',') {
            let mut bits = part.trim().split(';');
            let tag = bits.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = bits.find_map(|b| b.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
            let lang = match tag.split('-').next() {
                Some("zh") => Lang::Zh,
                Some("en") => Lang::En,
                _ => continue,
            };
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::Zh, |(_, l)| l)
    }

    /// The text of a message key in this language; the key itself if it has none, so
    /// that a missing entry shows rather than breaks a page.
    pub fn t<'a>(self, key: &'a str) -> &'a str {
        for table in TABLES {
            if let Ok(i) = table.binary_search_by(|(k, ..)| (*k).cmp(key)) {
                return match self {
                    Lang::Zh => table[i].1,
                    Lang::En => table[i].2,
                };
            }
        }
        key
    }
}

/// A message table: (key, 中文, English), sorted by key (a test keeps it so).
pub(crate) type Messages = &'static [(&'static str, &'static str, &'static str)];

/// Every table: the shared one here, and one per feature module for its own words.
static TABLES: &[Messages] = &[MESSAGES, crate::requests::MESSAGES, crate::bulletins::MESSAGES, crate::supervision::MESSAGES, crate::meetings::MESSAGES];

static MESSAGES: Messages = &[
    ("account", "账号", "Account"),
    ("add", "新增", "Add"),
    ("all", "全部", "All"),
    ("as_of", "截至", "As of"),
    ("audience", "听众人次", "Audience"),
    ("audiences", "对象", "Audiences"),
    ("back", "返回", "Back"),
    ("busy", "数据库正忙于另一项更改（可能是导入），本次未作任何更改，请稍后重试", "The database is busy with another change (an import, perhaps): nothing was changed; try again in a moment"),
    ("campaign", "宣讲活动", "Campaign"),
    ("code", "代码", "Code"),
    ("coverage", "覆盖率", "Coverage"),
    ("coverage_by_region", "各地区覆盖情况", "Coverage by region"),
    ("covered", "已覆盖", "Covered"),
    ("csrf_failed", "表单已过期，请刷新页面后重试", "The form has expired: reload the page and try again"),
    ("dashboard", "进度总览", "Dashboard"),
    ("date", "日期", "Date"),
    ("days_left", "距截止天数", "Days to deadline"),
    ("days_past", "已超过截止日期天数", "Days past the deadline"),
    ("deadline", "截止日期", "Deadline"),
    ("details", "详情", "Details"),
    ("division", "所属区划", "Division"),
    ("edit", "编辑", "Edit"),
    ("error", "出错了", "Something went wrong"),
    ("export", "导出", "Export"),
    ("file", "文件", "File"),
    ("format", "形式", "Format"),
    ("group", "宣讲团所在区划", "Lecture group (division)"),
    ("headcount", "听众人数", "Headcount"),
    ("import", "导入", "Import"),
    ("import_done", "导入完成", "Import done"),
    ("import_errors", "文件有错误，未导入任何内容", "The file has errors; nothing was imported"),
    ("import_help", "CSV 格式与命令行导入相同；有任何错误时不导入任何内容。", "The same CSV formats as the command line; nothing is stored if any row is wrong."),
    ("imports", "数据导入", "Imports"),
    ("kind", "类型", "Kind"),
    ("lecturers", "宣讲员", "Lecturers"),
    ("lecturers_help", "宣讲员代码，用逗号分隔", "Lecturer keys, separated by commas"),
    ("level", "层级", "Level"),
    ("name", "名称", "Name"),
    ("new_session", "填报宣讲", "Report a session"),
    ("next", "下一页", "Next"),
    ("no_rows", "没有记录", "Nothing here"),
    ("not_found", "未找到，或不在您的管辖范围内", "Not found, or outside your scope"),
    ("overdue", "逾期未达标", "Overdue"),
    ("page", "页", "Page"),
    ("password", "密码", "Password"),
    ("previous", "上一页", "Previous"),
    ("progress", "覆盖进度", "Coverage over time"),
    ("progress_plan", "计划进度", "Planned pace"),
    ("region", "地区", "Region"),
    ("role", "角色", "Role"),
    ("role_coordinator", "协调员", "Coordinator"),
    ("role_lecturer", "宣讲员", "Lecturer"),
    ("role_office", "活动办公室", "Campaign office"),
    ("role_supervisor", "督导", "Supervisor"),
    ("role_unit-contact", "单位联络员", "Unit contact"),
    ("row", "行", "Row"),
    ("save", "保存", "Save"),
    ("search", "搜索", "Search"),
    ("sessions", "宣讲场次", "Sessions"),
    ("settings", "活动设置", "Campaign settings"),
    ("settings_topics_help", "每行一个专题：代码 | 标题 | 英文标题", "One topic per line: key | title | English title"),
    ("show", "查询", "Show"),
    ("sign_in", "登录", "Sign in"),
    ("sign_in_failed", "用户名或密码错误", "Wrong name or password"),
    ("sign_out", "退出", "Sign out"),
    ("status", "状态", "Status"),
    ("target", "目标覆盖率", "Target"),
    ("title", "标题", "Title"),
    ("too_many_attempts", "失败次数过多，请稍后再试", "Too many failed attempts; try again later"),
    ("topics", "专题", "Topics"),
    ("total", "合计", "Total"),
    ("uncovered_units", "未覆盖单位", "Uncovered units"),
    ("unit", "单位", "Unit"),
    ("units", "基层单位", "Units"),
    ("user_name", "用户名", "User name"),
];


impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Lang, Self::Rejection> {
        Ok(Lang::of(&CookieJar::from_headers(&parts.headers), &parts.headers))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_sorted_complete_and_defined_once() {
        let mut all = std::collections::BTreeSet::new();
        for table in TABLES {
            assert!(table.windows(2).all(|w| w[0].0 < w[1].0), "keep each message table sorted by key: {:?}", table.first());
            assert!(table.iter().all(|(_, zh, en)| !zh.is_empty() && !en.is_empty()));
            for (k, ..) in *table {
                assert!(all.insert(*k), "{k} is defined twice");
            }
        }
    }

    #[test]
    fn the_language_comes_from_the_cookie_then_the_browser() {
        let headers = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert("accept-language", v.parse().unwrap());
            h
        };
        let none = CookieJar::new();
        assert_eq!(Lang::of(&none, &HeaderMap::new()), Lang::Zh);
        assert_eq!(Lang::of(&none, &headers("en-US,en;q=0.9")), Lang::En);
        assert_eq!(Lang::of(&none, &headers("fr,en;q=0.5,zh;q=0.8")), Lang::Zh);
        assert_eq!(Lang::of(&none, &headers("de")), Lang::Zh);
        let en = CookieJar::new().add(axum_extra::extract::cookie::Cookie::new("lang", "en"));
        assert_eq!(Lang::of(&en, &headers("zh-CN")), Lang::En);
    }
}
