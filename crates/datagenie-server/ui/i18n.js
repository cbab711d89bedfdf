// Every label and message of the UI, in English and Korean. The language follows the browser until the user picks
// one; the choice is remembered in this browser.

const STRINGS = {
  en: {
    language: "Language",
    signInTitle: "Sign in to DataGenie",
    email: "Email",
    password: "Password",
    signIn: "Sign in",
    signOut: "Sign out",
    signingIn: "Signing in…",
    wrongCredentials: "The email or password is wrong.",
    lockedOut: "Too many failed sign-ins. Try again in {s} seconds.",
    sessionExpired: "Your session has ended. Please sign in again.",
    connection: "Connection",
    noConnections: "No connection is shared with you yet. Ask an administrator to grant you one.",
    question: "Question",
    questionHint: "Ask about your data, e.g. “How many orders were placed in 2023?” (Enter sends, Shift+Enter breaks a line)",
    ask: "Ask",
    asking: "Working on it…",
    sourceTemplate: "Answered by the verified template “{name}”",
    sourceBuiltin: "Answered by the built-in engine (no LLM)",
    sourceLlm: "Written by the LLM {model}",
    sql: "SQL",
    copy: "Copy",
    copied: "Copied",
    rows: "Rows",
    rowsCount: "{n} rows",
    truncated: "(cut at the row limit)",
    noRows: "The query returned no rows.",
    downloadCsv: "Download CSV",
    previous: "Previous",
    next: "Next",
    pageOf: "Page {p} of {n}",
    chart: "Chart",
    summary: "Summary",
    usage: "{tokens} tokens · ${cost} · {ms} ms",
    attempt: "Attempt {n}",
    attemptFailed: "This attempt failed: {message}",
    refused: "Not allowed",
    failed: "No answer",
    quota: "Your token limit is used up. Try again in {s} seconds.",
    rateLimited: "Too many questions at once. Try again in {s} seconds.",
    networkError: "The server could not be reached.",
    you: "Signed in as {name} ({role})",
    conversations: "Conversations",
    newConversation: "New conversation",
    untitled: "Untitled",
    rename: "Rename",
    renameTo: "New title",
    save: "Save",
    delete: "Delete",
    deleteConfirm: "Delete the conversation “{title}”?",
    noConversations: "No conversations yet: your first question starts one.",
  },
  ko: {
    language: "언어",
    signInTitle: "DataGenie 로그인",
    email: "이메일",
    password: "비밀번호",
    signIn: "로그인",
    signOut: "로그아웃",
    signingIn: "로그인 중…",
    wrongCredentials: "이메일 또는 비밀번호가 올바르지 않습니다.",
    lockedOut: "로그인 실패가 너무 많습니다. {s}초 후에 다시 시도하세요.",
    sessionExpired: "세션이 끝났습니다. 다시 로그인하세요.",
    connection: "연결",
    noConnections: "아직 공유된 연결이 없습니다. 관리자에게 권한을 요청하세요.",
    question: "질문",
    questionHint: "데이터에 대해 물어보세요. 예: “2023년 주문은 몇 건인가요?” (Enter로 보내기, Shift+Enter로 줄바꿈)",
    ask: "질문하기",
    asking: "답을 만드는 중…",
    sourceTemplate: "검증된 템플릿 “{name}”의 답",
    sourceBuiltin: "내장 엔진의 답 (LLM 없음)",
    sourceLlm: "LLM {model}이(가) 작성",
    sql: "SQL",
    copy: "복사",
    copied: "복사됨",
    rows: "행",
    rowsCount: "{n}행",
    truncated: "(행 제한에서 잘림)",
    noRows: "결과 행이 없습니다.",
    downloadCsv: "CSV 내려받기",
    previous: "이전",
    next: "다음",
    pageOf: "{n}쪽 중 {p}쪽",
    chart: "차트",
    summary: "요약",
    usage: "토큰 {tokens}개 · ${cost} · {ms} ms",
    attempt: "시도 {n}",
    attemptFailed: "이 시도는 실패했습니다: {message}",
    refused: "허용되지 않음",
    failed: "답 없음",
    quota: "토큰 한도를 다 썼습니다. {s}초 후에 다시 시도하세요.",
    rateLimited: "질문이 너무 많습니다. {s}초 후에 다시 시도하세요.",
    networkError: "서버에 연결할 수 없습니다.",
    you: "{name} ({role}) 로그인됨",
    conversations: "대화",
    newConversation: "새 대화",
    untitled: "제목 없음",
    rename: "이름 바꾸기",
    renameTo: "새 제목",
    save: "저장",
    delete: "삭제",
    deleteConfirm: "대화 “{title}”을(를) 삭제할까요?",
    noConversations: "아직 대화가 없습니다. 첫 질문이 대화를 시작합니다.",
  },
};

export const LANGUAGES = [["en", "English"], ["ko", "한국어"]];

let current = pick();

function pick() {
  const saved = localStorage.getItem("datagenie.lang");
  if (saved && STRINGS[saved]) return saved;
  const browser = (navigator.languages || [navigator.language || "en"]).map((l) => l.slice(0, 2).toLowerCase());
  return browser.find((l) => STRINGS[l]) || "en";
}

export function lang() {
  return current;
}

export function setLang(l) {
  if (!STRINGS[l]) return;
  current = l;
  localStorage.setItem("datagenie.lang", l);
  document.documentElement.lang = l;
}

// The text for `key` with `{name}` placeholders filled from `values` (as text, never as markup).
export function t(key, values = {}) {
  const s = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (k in values ? String(values[k]) : `{${k}}`));
}

document.documentElement.lang = current;
