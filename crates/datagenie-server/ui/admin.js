// The administration screens: users (with each one's tier and credits), connections, permissions, usage, audit and
// settings. The shell (app.js) shows the navigation between them and calls `adminScreen(section, container)` for
// admins; each section draws its own content into `container`, starting with an <h1>.
//
// Safety: as everywhere in the UI, nothing from the server (a name, a URL, a schema, an error) is parsed as HTML:
// elements are built with `el()` (text as textContent), the usage chart with createElementNS and textContent.
// A form that fails keeps what was typed in it, and says why in a role="alert" element beside it.

import { ApiError, apiJson, el, field, query, state, when } from "/ui/core.js";
import { addStrings, lang, t } from "/ui/i18n.js";

addStrings({
  en: {
    adminOnly: "Only administrators can see this page.",
    adminUnknownSection: "There is no such administration page.",
    adminSave: "Save",
    adminCancel: "Cancel",
    adminEdit: "Edit",
    adminDelete: "Delete",
    adminRemove: "Remove",
    adminApply: "Apply",
    adminClear: "Clear",
    adminSaved: "Saved.",
    adminActions: "Actions",
    adminNone: "—",
    adminYes: "yes",
    adminNo: "no",
    adminOptional: "optional",
    adminWholeNumber: "“{field}” must be a whole number of 0 or more, or empty.",
    adminWholePositive: "“{field}” must be a whole number of 1 or more, or empty.",
    // users
    adminUsers: "Users",
    adminAddUser: "Add a user",
    adminUserList: "All users",
    adminEmail: "Email",
    adminUsername: "Username",
    adminUsernameHint: "3 to 50 characters without spaces; empty: the part of the email before @.",
    adminPassword: "Password",
    adminPasswordHint: "At least 8 characters.",
    adminNewPassword: "New password",
    adminNewPasswordHint: "Empty: unchanged. A new password ends the user's sign-ins.",
    adminFullName: "Full name",
    adminRole: "Role",
    adminRoleOf: "Role of {name}",
    role_admin: "admin",
    role_user: "user",
    role_viewer: "viewer",
    adminRoleHelp: "Admins manage everything; users ask and save templates; viewers only ask.",
    adminAddUserButton: "Add user",
    adminUserAdded: "User {name} added.",
    adminStatus: "Status",
    adminActive: "Active",
    adminDisabled: "Disabled",
    adminDisable: "Disable",
    adminEnable: "Enable",
    adminTokenLimits: "Token limits",
    adminHourly: "Hourly token limit",
    adminDaily: "Daily token limit",
    adminMonthly: "Monthly token limit",
    adminLimitHint: "Empty: no limit.",
    adminLimitsText: "hour {h} · day {d} · month {m}",
    adminNoLimit: "none",
    adminLastLogin: "Last sign-in",
    adminNever: "never",
    adminTokensUsed: "Tokens used",
    adminEditUser: "Edit {name}",
    adminDisableUser: "Disable {name}",
    adminEnableUser: "Enable {name}",
    adminDeleteUser: "Delete {name}",
    adminDeleteUserConfirm: "Delete the user {name}? Their history stays in the audit log.",
    adminUserUpdated: "{name} updated.",
    adminUserDeleted: "{name} deleted.",
    adminNoUsers: "No users yet.",
    // connections
    adminConnections: "Connections",
    adminAddConnection: "Add a connection",
    adminConnectionList: "All connections",
    adminName: "Name",
    adminNameHint: "Lower-case letters, digits, - and _; used in questions and URLs.",
    adminDisplayName: "Display name",
    adminDescription: "Description",
    adminUrl: "Database URL",
    adminUrlHint: "postgres://user:password@host/db, mysql://…, or a SQLite file's path. It is stored encrypted and never shown again.",
    adminNewUrl: "New database URL",
    adminNewUrlHint: "Empty: unchanged.",
    adminAddConnectionButton: "Add and test",
    adminConnectionAdded: "Connection {name} added.",
    adminEngine: "Engine",
    adminAddress: "Address",
    adminSchemaSynced: "Schema synced",
    adminTest: "Test",
    adminTestName: "Test {name}",
    adminTesting: "Testing…",
    adminTestOk: "Connected: {version} ({ms} ms)",
    adminTestFailed: "Failed: {message} ({ms} ms)",
    adminSync: "Sync schema",
    adminSyncName: "Sync the schema of {name}",
    adminSynced: "Schema of {name} synced (tables: {n}).",
    adminSchema: "Schema",
    adminSchemaName: "Browse the schema of {name}",
    adminEditConnection: "Edit {name}",
    adminDisableConnection: "Disable {name}",
    adminEnableConnection: "Enable {name}",
    adminDeleteConnection: "Delete {name}",
    adminDeleteConnectionConfirm: "Delete the connection {name}? Its grants are deleted with it.",
    adminConnectionUpdated: "{name} updated.",
    adminConnectionDeleted: "{name} deleted.",
    adminNoConnections: "No connections yet.",
    adminSchemaOf: "Schema of {name}",
    adminSchemaSummary: "{version} · tables: {n} · synced {when}",
    adminTableSummary: "{name} ({kind}, {rows})",
    adminTableRows: "{n} rows",
    adminRowsUnknown: "rows unknown",
    kind_table: "table",
    kind_view: "view",
    adminColumn: "Column",
    adminType: "Type",
    adminNullable: "Nullable",
    adminKey: "Key",
    adminPrimaryKey: "primary key",
    adminReferences: "→ {table}.{column}",
    adminPii: "Personal data",
    adminPiiKind_email: "Email",
    adminPiiKind_phone: "Phone number",
    adminPiiKind_card_number: "Card number",
    adminPiiKind_person_name: "Person's name",
    adminPiiKind_national_id: "National ID",
    adminPiiKind_address: "Address",
    adminComment: "Comment",
    adminCloseSchema: "Close the schema",
    adminNoTables: "This database has no tables.",
    // permissions
    adminPermissions: "Permissions",
    adminPermConnection: "Connection",
    adminPermUser: "User",
    adminPermChoose: "Choose a connection and a user to see and change what the user may read.",
    adminPermGrants: "Grants on {name}",
    adminPermNoGrants: "Nobody has been granted this connection yet.",
    adminPermTables: "Tables",
    adminPermAllTables: "Every table, including tables added later",
    adminPermNotInSchema: "{name} (not in the schema)",
    adminPermRowFilters: "Row filters",
    adminPermRowFiltersHint: "A condition added to every read of the table, e.g. region = {user.region}.",
    adminPermAddFilter: "Add a row filter",
    adminPermRemoveFilter: "Remove row filter {n}",
    adminPermFilterTable: "Table of row filter {n}",
    adminPermFilterCondition: "Condition of row filter {n}",
    adminPermCondition: "Condition",
    adminPermAttributes: "Attributes",
    adminPermAttributesHint: "Values for {user.NAME} in row filters ({user.id} and {user.email} are the user's own).",
    adminPermAttrName: "Name of attribute {n}",
    adminPermAttrValue: "Value of attribute {n}",
    adminPermName: "Name",
    adminPermValue: "Value",
    adminPermAddAttribute: "Add an attribute",
    adminPermRemoveAttribute: "Remove attribute {n}",
    adminPermSchemas: "Schemas",
    adminPermSchemasHint: "Comma-separated; empty: any schema.",
    adminPermMaxRows: "Most rows per answer",
    adminPermMaxSeconds: "Most seconds per query",
    adminPermDefaultHint: "Empty: the server's setting.",
    adminPermCanQuery: "May ask questions on this connection",
    adminPermCanUnmask: "May see personal data unmasked",
    adminPermRevoke: "Revoke",
    adminPermRevokeConfirm: "Revoke {user}'s access to {connection}?",
    adminPermRevoked: "{user} no longer has access to {connection}.",
    adminPermSaved: "Saved: {user} may read {tables} on {connection}.",
    adminPermEveryTable: "every table",
    adminPermNoTable: "no table",
    adminPermNone: "No grant yet: {user} cannot use {connection}.",
    adminPermSince: "Granted; last changed {when}.",
    adminPermAdminNote: "{user} is an admin: admins read every table of every connection.",
    adminPermEditFor: "Edit the grant of {user}",
    adminPermUnmask: "Unmask",
    // usage
    adminUsage: "Usage",
    adminSince: "Since (UTC date)",
    adminUntil: "Until (UTC date, included)",
    adminUser: "User",
    adminEveryone: "Everyone",
    adminPerDay: "Per day",
    adminPerUser: "Per user",
    adminPerModel: "Per model",
    adminDay: "Day",
    adminModel: "Model",
    adminNoModel: "No LLM (templates, built-in engine)",
    adminQuestions: "Questions",
    adminPromptTokens: "Prompt tokens",
    adminCompletionTokens: "Completion tokens",
    adminTokens: "Tokens",
    adminCost: "Cost (USD)",
    adminTotal: "Total",
    adminMetric: "Chart shows",
    adminChartLabel: "{metric} per day, {from} to {to}",
    adminNoUsage: "No usage in this period.",
    adminUnknownUser: "(deleted user {id})",
    // audit
    adminAudit: "Audit log",
    adminAuditChecking: "Checking the audit chain…",
    adminAuditIntact: "The audit chain is intact: {n} rows checked.",
    adminAuditBroken: "The audit chain is broken at row {seq} (id {id}): {reason}",
    adminAuditMissingRow: "missing",
    adminAuditRecheck: "Check again",
    adminAction: "Action",
    adminResourceType: "Resource type",
    adminAnyone: "Anyone",
    adminTime: "Time",
    adminResource: "Resource",
    adminResult: "Result",
    adminReason: "Reason",
    adminIp: "Address",
    adminChanges: "Changes",
    adminBefore: "Before",
    adminAfter: "After",
    adminMore: "Show more",
    adminNoAudit: "No audit rows match.",
    adminAuditShown: "Rows shown: {n}.",
    adminSystem: "(system)",
    result_success: "success",
    result_failure: "failure",
    // settings
    adminSettings: "Settings",
    adminSetting: "Setting",
    adminValue: "Value",
    adminHidden: "(hidden)",
    adminNull: "none",
    adminEditSetting: "Edit {key}",
    adminValueOf: "New value of {key}",
    adminValueHint: "Numbers as digits, text as is; empty: none (where allowed).",
    adminNoSettings: "No settings.",
    adminJsonHint: "JSON, as shown; it is checked when saved.",
    adminNotJson: "“{key}” is not JSON: {message}",
    // credits and tiers
    adminTier: "Tier",
    adminCredits: "Credits",
    adminCreditsOf: "Credits of {name}",
    adminCreditsTitle: "Credits and tier of {name}",
    adminTierOf: "Tier of {name}",
    adminTierFacts: "{credits} credits a month · {qpm} questions a minute · queue priority {priority}",
    adminTierUnknown: "Not among the tiers now: treated as “free” while billing applies.",
    adminTierChanged: "{name}'s tier is now {tier}.",
    adminBalance: "Balance (credits)",
    adminBilling: "Billing applies",
    adminBillingApplies: "Yes: each question the LLM answers costs {n} (the credits_per_question setting).",
    adminBillingOff: "No: billing is off (the billing_enabled setting).",
    adminBillingExempt: "No: admins are exempt (the admins_exempt setting).",
    adminLastGrant: "Monthly credits last granted for the period from {when}.",
    adminCreditsChange: "Change",
    adminCreditsGrant: "Grant",
    adminCreditsDeduct: "Deduct",
    adminCreditsAmount: "Amount (credits)",
    adminCreditsAmountHint: "A whole number from 1 to 1,000,000,000. A deduction cannot take the balance below 0.",
    adminCreditsReason: "Reason",
    adminCreditsReasonHint: "Kept in the ledger with your name (at most 500 characters).",
    adminCreditsGrantButton: "Grant credits",
    adminCreditsDeductButton: "Deduct credits",
    adminCreditsAmountInvalid: "“Amount” must be a whole number of credits, written in digits.",
    adminCreditsInsufficient: "The balance cannot go below 0 ({detail}).",
    adminCreditsGranted: "Granted {n} credits to {name}: the balance is {balance}.",
    adminCreditsDeducted: "Deducted {n} credits from {name}: the balance is {balance}.",
    adminLedger: "Ledger",
    adminLedgerChange: "Change",
    adminLedgerBalance: "Balance after",
    adminLedgerKind: "Kind",
    adminLedgerBy: "By",
    adminNoLedger: "No credit changes yet.",
    adminClose: "Close",
    creditKind_monthly_grant: "monthly credits",
    creditKind_admin_adjustment: "adjustment",
    creditKind_question: "question",
    creditKind_refund: "refund",
  },
  ko: {
    adminOnly: "관리자만 볼 수 있는 화면입니다.",
    adminUnknownSection: "그런 관리 화면은 없습니다.",
    adminSave: "저장",
    adminCancel: "취소",
    adminEdit: "편집",
    adminDelete: "삭제",
    adminRemove: "제거",
    adminApply: "적용",
    adminClear: "지우기",
    adminSaved: "저장했습니다.",
    adminActions: "작업",
    adminNone: "—",
    adminYes: "예",
    adminNo: "아니요",
    adminOptional: "선택",
    adminWholeNumber: "“{field}”에는 0 이상의 정수를 넣거나 비워 두세요.",
    adminWholePositive: "“{field}”에는 1 이상의 정수를 넣거나 비워 두세요.",
    adminUsers: "사용자",
    adminAddUser: "사용자 추가",
    adminUserList: "모든 사용자",
    adminEmail: "이메일",
    adminUsername: "사용자 이름",
    adminUsernameHint: "공백 없이 3~50자. 비워 두면 이메일의 @ 앞부분을 씁니다.",
    adminPassword: "비밀번호",
    adminPasswordHint: "8자 이상.",
    adminNewPassword: "새 비밀번호",
    adminNewPasswordHint: "비워 두면 바뀌지 않습니다. 새 비밀번호는 그 사용자의 로그인을 모두 끝냅니다.",
    adminFullName: "이름",
    adminRole: "역할",
    adminRoleOf: "{name}의 역할",
    role_admin: "관리자",
    role_user: "사용자",
    role_viewer: "조회자",
    adminRoleHelp: "관리자는 모든 것을 관리하고, 사용자는 질문하고 템플릿을 저장하며, 조회자는 질문만 합니다.",
    adminAddUserButton: "사용자 추가",
    adminUserAdded: "사용자 {name}을(를) 추가했습니다.",
    adminStatus: "상태",
    adminActive: "활성",
    adminDisabled: "비활성",
    adminDisable: "비활성화",
    adminEnable: "활성화",
    adminTokenLimits: "토큰 한도",
    adminHourly: "시간당 토큰 한도",
    adminDaily: "일일 토큰 한도",
    adminMonthly: "월간 토큰 한도",
    adminLimitHint: "비워 두면 한도가 없습니다.",
    adminLimitsText: "시간 {h} · 일 {d} · 월 {m}",
    adminNoLimit: "없음",
    adminLastLogin: "마지막 로그인",
    adminNever: "없음",
    adminTokensUsed: "사용한 토큰",
    adminEditUser: "{name} 편집",
    adminDisableUser: "{name} 비활성화",
    adminEnableUser: "{name} 활성화",
    adminDeleteUser: "{name} 삭제",
    adminDeleteUserConfirm: "사용자 {name}을(를) 삭제할까요? 기록은 감사 로그에 남습니다.",
    adminUserUpdated: "{name}을(를) 바꿨습니다.",
    adminUserDeleted: "{name}을(를) 삭제했습니다.",
    adminNoUsers: "아직 사용자가 없습니다.",
    adminConnections: "연결",
    adminAddConnection: "연결 추가",
    adminConnectionList: "모든 연결",
    adminName: "이름",
    adminNameHint: "영문 소문자, 숫자, -, _. 질문과 URL에 쓰입니다.",
    adminDisplayName: "표시 이름",
    adminDescription: "설명",
    adminUrl: "데이터베이스 URL",
    adminUrlHint: "postgres://user:password@host/db, mysql://… 또는 SQLite 파일 경로. 암호화해 저장하며 다시 보여 주지 않습니다.",
    adminNewUrl: "새 데이터베이스 URL",
    adminNewUrlHint: "비워 두면 바뀌지 않습니다.",
    adminAddConnectionButton: "추가하고 테스트",
    adminConnectionAdded: "연결 {name}을(를) 추가했습니다.",
    adminEngine: "엔진",
    adminAddress: "주소",
    adminSchemaSynced: "스키마 동기화",
    adminTest: "테스트",
    adminTestName: "{name} 테스트",
    adminTesting: "테스트 중…",
    adminTestOk: "연결됨: {version} ({ms} ms)",
    adminTestFailed: "실패: {message} ({ms} ms)",
    adminSync: "스키마 동기화",
    adminSyncName: "{name}의 스키마 동기화",
    adminSynced: "{name}의 스키마를 동기화했습니다: 테이블 {n}개.",
    adminSchema: "스키마",
    adminSchemaName: "{name}의 스키마 보기",
    adminEditConnection: "{name} 편집",
    adminDisableConnection: "{name} 비활성화",
    adminEnableConnection: "{name} 활성화",
    adminDeleteConnection: "{name} 삭제",
    adminDeleteConnectionConfirm: "연결 {name}을(를) 삭제할까요? 그 권한도 함께 삭제됩니다.",
    adminConnectionUpdated: "{name}을(를) 바꿨습니다.",
    adminConnectionDeleted: "{name}을(를) 삭제했습니다.",
    adminNoConnections: "아직 연결이 없습니다.",
    adminSchemaOf: "{name}의 스키마",
    adminSchemaSummary: "{version} · 테이블 {n}개 · {when} 동기화",
    adminTableSummary: "{name} ({kind}, {rows})",
    adminTableRows: "{n}행",
    adminRowsUnknown: "행 수 모름",
    kind_table: "테이블",
    kind_view: "뷰",
    adminColumn: "열",
    adminType: "형식",
    adminNullable: "NULL 허용",
    adminKey: "키",
    adminPrimaryKey: "기본 키",
    adminReferences: "→ {table}.{column}",
    adminPii: "개인정보",
    adminPiiKind_email: "이메일",
    adminPiiKind_phone: "전화번호",
    adminPiiKind_card_number: "카드 번호",
    adminPiiKind_person_name: "사람 이름",
    adminPiiKind_national_id: "주민등록번호 등",
    adminPiiKind_address: "주소",
    adminComment: "주석",
    adminCloseSchema: "스키마 닫기",
    adminNoTables: "이 데이터베이스에는 테이블이 없습니다.",
    adminPermissions: "권한",
    adminPermConnection: "연결",
    adminPermUser: "사용자",
    adminPermChoose: "연결과 사용자를 고르면 그 사용자가 읽을 수 있는 범위를 보고 바꿀 수 있습니다.",
    adminPermGrants: "{name}의 권한",
    adminPermNoGrants: "아직 이 연결의 권한을 받은 사람이 없습니다.",
    adminPermTables: "테이블",
    adminPermAllTables: "모든 테이블 (나중에 추가되는 테이블 포함)",
    adminPermNotInSchema: "{name} (스키마에 없음)",
    adminPermRowFilters: "행 필터",
    adminPermRowFiltersHint: "그 테이블을 읽을 때마다 붙는 조건. 예: region = {user.region}",
    adminPermAddFilter: "행 필터 추가",
    adminPermRemoveFilter: "행 필터 {n} 제거",
    adminPermFilterTable: "행 필터 {n}의 테이블",
    adminPermFilterCondition: "행 필터 {n}의 조건",
    adminPermCondition: "조건",
    adminPermAttributes: "속성",
    adminPermAttributesHint: "행 필터의 {user.NAME}에 들어갈 값 ({user.id}와 {user.email}은 사용자 자신의 값).",
    adminPermAttrName: "속성 {n}의 이름",
    adminPermAttrValue: "속성 {n}의 값",
    adminPermName: "이름",
    adminPermValue: "값",
    adminPermAddAttribute: "속성 추가",
    adminPermRemoveAttribute: "속성 {n} 제거",
    adminPermSchemas: "스키마",
    adminPermSchemasHint: "쉼표로 구분. 비워 두면 모든 스키마.",
    adminPermMaxRows: "답 하나의 최대 행 수",
    adminPermMaxSeconds: "쿼리 하나의 최대 초",
    adminPermDefaultHint: "비워 두면 서버 설정을 따릅니다.",
    adminPermCanQuery: "이 연결에 질문할 수 있음",
    adminPermCanUnmask: "개인정보를 가리지 않고 볼 수 있음",
    adminPermRevoke: "권한 회수",
    adminPermRevokeConfirm: "{user}의 {connection} 권한을 회수할까요?",
    adminPermRevoked: "{user}은(는) 이제 {connection}을(를) 쓸 수 없습니다.",
    adminPermSaved: "저장했습니다: {user}은(는) {connection}에서 {tables}을(를) 읽을 수 있습니다.",
    adminPermEveryTable: "모든 테이블",
    adminPermNoTable: "테이블 없음",
    adminPermNone: "아직 권한이 없습니다: {user}은(는) {connection}을(를) 쓸 수 없습니다.",
    adminPermSince: "권한 있음. 마지막 변경 {when}.",
    adminPermAdminNote: "{user}은(는) 관리자입니다: 관리자는 모든 연결의 모든 테이블을 읽습니다.",
    adminPermEditFor: "{user}의 권한 편집",
    adminPermUnmask: "가림 해제",
    adminUsage: "사용량",
    adminSince: "시작 (UTC 날짜)",
    adminUntil: "끝 (UTC 날짜, 포함)",
    adminUser: "사용자",
    adminEveryone: "모두",
    adminPerDay: "일별",
    adminPerUser: "사용자별",
    adminPerModel: "모델별",
    adminDay: "날짜",
    adminModel: "모델",
    adminNoModel: "LLM 없음 (템플릿, 내장 엔진)",
    adminQuestions: "질문",
    adminPromptTokens: "프롬프트 토큰",
    adminCompletionTokens: "응답 토큰",
    adminTokens: "토큰",
    adminCost: "비용 (USD)",
    adminTotal: "합계",
    adminMetric: "차트 항목",
    adminChartLabel: "일별 {metric}, {from} ~ {to}",
    adminNoUsage: "이 기간에는 사용량이 없습니다.",
    adminUnknownUser: "(삭제된 사용자 {id})",
    adminAudit: "감사 로그",
    adminAuditChecking: "감사 체인을 확인하는 중…",
    adminAuditIntact: "감사 체인이 온전합니다: {n}행 확인.",
    adminAuditBroken: "감사 체인이 {seq}행(id {id})에서 깨졌습니다: {reason}",
    adminAuditMissingRow: "없음",
    adminAuditRecheck: "다시 확인",
    adminAction: "동작",
    adminResourceType: "대상 종류",
    adminAnyone: "누구나",
    adminTime: "시각",
    adminResource: "대상",
    adminResult: "결과",
    adminReason: "사유",
    adminIp: "주소",
    adminChanges: "변경 내용",
    adminBefore: "이전",
    adminAfter: "이후",
    adminMore: "더 보기",
    adminNoAudit: "조건에 맞는 감사 기록이 없습니다.",
    adminAuditShown: "표시한 행: {n}.",
    adminSystem: "(시스템)",
    result_success: "성공",
    result_failure: "실패",
    adminSettings: "설정",
    adminSetting: "설정",
    adminValue: "값",
    adminHidden: "(숨김)",
    adminNull: "없음",
    adminEditSetting: "{key} 편집",
    adminValueOf: "{key}의 새 값",
    adminValueHint: "숫자는 숫자로, 글은 그대로. 비워 두면 없음 (허용되는 경우).",
    adminNoSettings: "설정이 없습니다.",
    adminJsonHint: "보이는 그대로의 JSON. 저장할 때 검사합니다.",
    adminNotJson: "“{key}”의 값이 JSON이 아닙니다: {message}",
    adminTier: "등급",
    adminCredits: "크레딧",
    adminCreditsOf: "{name}의 크레딧",
    adminCreditsTitle: "{name}의 크레딧과 등급",
    adminTierOf: "{name}의 등급",
    adminTierFacts: "월 {credits} 크레딧 · 분당 질문 {qpm}개 · 대기열 우선순위 {priority}",
    adminTierUnknown: "지금 정의된 등급이 아닙니다: 과금이 적용되는 동안 “free”로 취급합니다.",
    adminTierChanged: "{name}의 등급을 {tier}(으)로 바꿨습니다.",
    adminBalance: "잔액 (크레딧)",
    adminBilling: "과금 적용",
    adminBillingApplies: "예: LLM이 답한 질문마다 {n} 크레딧이 듭니다 (credits_per_question 설정).",
    adminBillingOff: "아니요: 과금이 꺼져 있습니다 (billing_enabled 설정).",
    adminBillingExempt: "아니요: 관리자는 면제됩니다 (admins_exempt 설정).",
    adminLastGrant: "월 크레딧을 마지막으로 지급한 기간의 시작: {when}.",
    adminCreditsChange: "변경",
    adminCreditsGrant: "지급",
    adminCreditsDeduct: "차감",
    adminCreditsAmount: "수량 (크레딧)",
    adminCreditsAmountHint: "1에서 1,000,000,000 사이의 정수. 차감해도 잔액은 0 아래로 내려가지 않습니다.",
    adminCreditsReason: "사유",
    adminCreditsReasonHint: "내 이름과 함께 원장에 남습니다 (최대 500자).",
    adminCreditsGrantButton: "크레딧 지급",
    adminCreditsDeductButton: "크레딧 차감",
    adminCreditsAmountInvalid: "“수량”에는 크레딧 수를 정수(숫자)로 넣으세요.",
    adminCreditsInsufficient: "잔액은 0 아래로 내려갈 수 없습니다 ({detail}).",
    adminCreditsGranted: "{name}에게 {n} 크레딧을 지급했습니다: 잔액 {balance}.",
    adminCreditsDeducted: "{name}에게서 {n} 크레딧을 차감했습니다: 잔액 {balance}.",
    adminLedger: "원장",
    adminLedgerChange: "변동",
    adminLedgerBalance: "변동 후 잔액",
    adminLedgerKind: "종류",
    adminLedgerBy: "처리자",
    adminNoLedger: "아직 크레딧 변동이 없습니다.",
    adminClose: "닫기",
    creditKind_monthly_grant: "월 크레딧",
    creditKind_admin_adjustment: "조정",
    creditKind_question: "질문",
    creditKind_refund: "환불",
  },
});

const SECTIONS = {
  users: usersSection,
  connections: connectionsSection,
  permissions: permissionsSection,
  usage: usageSection,
  audit: auditSection,
  settings: settingsSection,
};

// Draws `section` into `container` (empty, on the page). Admins only: for anyone else nothing is fetched.
export async function adminScreen(section, container) {
  container.replaceChildren();
  container.classList.add("admin");
  const draw = Object.hasOwn(SECTIONS, section) ? SECTIONS[section] : null;
  if (state.user && state.user.role !== "admin") {
    container.append(el("p", { class: "alert", role: "alert" }, t("adminOnly")));
    return;
  }
  if (!draw) {
    container.append(el("p", { class: "alert", role: "alert" }, t("adminUnknownSection")));
    return;
  }
  try {
    await draw(container);
  } catch (err) {
    if (err?.status === 401) return; // the shell shows the sign-in screen
    container.append(problem(err));
  }
}

// --- shared pieces

let serial = 0;
const uid = (name) => `admin-${name}-${++serial}`;

// An alert for a form's errors: hidden until `say`, emptied by `quiet`.
function alertBox() {
  return el("div", { class: "alert", role: "alert", hidden: true });
}

function say(box, err) {
  box.dataset.code = err instanceof ApiError ? err.code : "";
  box.replaceChildren(err instanceof Error ? err.message : String(err));
  box.hidden = false;
}

function quiet(box) {
  box.hidden = true;
  box.replaceChildren();
  delete box.dataset.code;
}

// An error shown where a whole section failed to load.
function problem(err) {
  const box = alertBox();
  say(box, err);
  return box;
}

// A line that announces what just happened (not an error).
function statusLine() {
  return el("p", { class: "admin-status", role: "status" });
}

// Save and Cancel, the buttons of every inline editor.
function saveOrCancel(close) {
  return el("div", { class: "admin-buttons" },
    el("button", { type: "submit" }, t("adminSave")),
    el("button", { type: "button", class: "secondary", onclick: close }, t("adminCancel")));
}

// An inline editor in table row `tr`: Escape closes it, and the first field has the focus.
function editorRow(tr, form, close, colspan, first) {
  form.addEventListener("keydown", (e) => {
    if (e.key === "Escape") close();
  });
  tr.append(el("td", { colspan }, form));
  queueMicrotask(() => first.focus());
  return tr;
}

// A labelled control in a form, with an optional hint read with it.
function labelled(id, label, control, hint, cls) {
  const [l, c] = field(id, label, control);
  const parts = [l, c];
  if (hint) {
    const hintId = `${id}-hint`;
    c.setAttribute("aria-describedby", hintId);
    parts.push(el("p", { class: "admin-hint", id: hintId }, hint));
  }
  return el("div", { class: cls ? `admin-field ${cls}` : "admin-field" }, parts);
}

// A checkbox with its label around it.
function check(id, label, checked) {
  const box = el("input", { type: "checkbox", id, checked });
  return { box, label: el("label", { class: "admin-check", for: id }, box, " ", label) };
}

function numberText(n) {
  return new Intl.NumberFormat(lang()).format(n ?? 0);
}

function costText(n) {
  return new Intl.NumberFormat(lang(), { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 4 })
    .format(n ?? 0);
}

// A whole number from a text field: null when empty, a number, or an error naming the field.
function wholeNumber(input, label, min = 0) {
  const text = input.value.trim();
  if (text === "") return null;
  if (!/^\d+$/.test(text) || Number(text) < min) {
    throw new Error(t(min > 0 ? "adminWholePositive" : "adminWholeNumber", { field: label }));
  }
  return Number(text);
}

function dataTable(caption, headers, body, foot) {
  return el("div", { class: "scroll" },
    el("table", { class: "admin-table" },
      caption ? el("caption", {}, caption) : null,
      el("thead", {}, el("tr", {}, headers.map((h) => (typeof h === "string"
        ? el("th", { scope: "col" }, h)
        : el("th", { scope: "col", class: h.num ? "num" : null }, h.text))))),
      body,
      foot || null));
}

// Every item of a list, page after page.
async function everything(path, params = {}) {
  const items = [];
  let cursor;
  for (let i = 0; i < 100; i++) {
    const page = await apiJson(query(path, { ...params, limit: 500, cursor }));
    items.push(...(page.items || []));
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return items;
}

const path = (...parts) => `/api/v1/${parts.map(encodeURIComponent).join("/")}`;

// YYYY-MM-DD in UTC, `days` from today.
function utcDate(days = 0) {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

function nextDay(day) {
  const d = new Date(`${day}T00:00:00Z`);
  return Number.isNaN(d.getTime()) ? day : new Date(d.getTime() + 86_400_000).toISOString().slice(0, 10);
}

// Ledger rows shown at a time in a user's credits.
const LEDGER_PAGE = 20;

// The billing settings the credits panel explains itself with (the server's defaults where one is missing).
function billingOf(settings) {
  const value = (key, fallback) => settings.find((s) => s.key === key)?.value ?? fallback;
  const tiers = value("tiers", {});
  return {
    enabled: value("billing_enabled", false) === true,
    perQuestion: value("credits_per_question", 1),
    adminsExempt: value("admins_exempt", true) !== false,
    tiers: tiers && typeof tiers === "object" && !Array.isArray(tiers) ? tiers : {},
  };
}

function userLabel(u) {
  return `${u.username} · ${u.email}`;
}

// --- users

async function usersSection(root) {
  const status = statusLine();
  const listAlert = alertBox();
  const body = el("tbody");
  const creditsPanel = el("section", { class: "admin-card admin-credits", id: "admin-credits", hidden: true,
    "aria-labelledby": "admin-credits-title" });
  let users = [];

  // The form to add one: what was typed stays on an error.
  const email = el("input", { type: "email", required: true, autocomplete: "off" });
  const username = el("input", { type: "text", autocomplete: "off" });
  const password = el("input", { type: "password", required: true, autocomplete: "new-password", minlength: 8 });
  const role = el("select", {}, ["user", "viewer", "admin"].map((r) => el("option", { value: r }, t(`role_${r}`))));
  const formAlert = alertBox();
  const formStatus = statusLine();
  const form = el("form", { id: "admin-user-form", class: "admin-form", onsubmit: async (e) => {
    e.preventDefault();
    quiet(formAlert);
    formStatus.textContent = "";
    try {
      const created = await apiJson("/api/v1/users", { method: "POST", json: {
        email: email.value.trim(), username: username.value.trim() || undefined, password: password.value, role: role.value,
      } });
      form.reset();
      formStatus.textContent = t("adminUserAdded", { name: created.username });
      await reload();
    } catch (err) {
      if (err?.status === 401) return;
      say(formAlert, err);
    }
  } },
  el("div", { class: "admin-fields" },
    labelled("admin-user-email", t("adminEmail"), email),
    labelled("admin-user-username", `${t("adminUsername")} (${t("adminOptional")})`, username, t("adminUsernameHint")),
    labelled("admin-user-password", t("adminPassword"), password, t("adminPasswordHint")),
    labelled("admin-user-role", t("adminRole"), role, t("adminRoleHelp"))),
  formAlert,
  el("button", { type: "submit" }, t("adminAddUserButton")),
  formStatus);

  root.append(
    el("h1", {}, t("adminUsers")),
    el("section", { class: "admin-card", "aria-labelledby": "admin-add-user" }, el("h2", { id: "admin-add-user" }, t("adminAddUser")), form),
    el("section", { class: "admin-card", "aria-labelledby": "admin-user-list" },
      el("h2", { id: "admin-user-list" }, t("adminUserList")),
      listAlert, status,
      dataTable(null, [t("adminUsername"), t("adminEmail"), t("adminRole"), t("adminTier"), t("adminStatus"),
        t("adminTokenLimits"), t("adminLastLogin"), { text: t("adminTokensUsed"), num: true }, t("adminActions")], body)),
    creditsPanel,
  );

  async function reload() {
    users = await everything("/api/v1/users");
    draw();
  }

  function draw() {
    body.replaceChildren(...(users.length ? users.map(row) : [el("tr", {}, el("td", { colspan: 9 }, t("adminNoUsers")))]));
  }

  async function change(u, patch) {
    quiet(listAlert);
    status.textContent = "";
    const after = await apiJson(path("users", u.id), { method: "PATCH", json: patch });
    users = users.map((x) => (x.id === u.id ? after : x));
    status.textContent = t("adminUserUpdated", { name: after.username });
    return after;
  }

  function limitsText(l) {
    const v = (n) => (n === null || n === undefined ? t("adminNoLimit") : numberText(n));
    return t("adminLimitsText", { h: v(l?.hourly), d: v(l?.daily), m: v(l?.monthly) });
  }

  function row(u) {
    const tr = el("tr", { "data-user": u.username });
    const roleSelect = el("select", { "aria-label": t("adminRoleOf", { name: u.username }), onchange: async () => {
      try {
        const after = await change(u, { role: roleSelect.value });
        draw();
        // An admin may be exempt from billing: the open credits panel says so at once.
        if (!creditsPanel.hidden && creditsPanel.dataset.user === u.id) await showCredits(after, false);
      } catch (err) {
        roleSelect.value = u.role;
        say(listAlert, err);
      }
    } }, ["admin", "user", "viewer"].map((r) => el("option", { value: r, selected: r === u.role }, t(`role_${r}`))));
    const toggle = el("button", { type: "button", class: "quiet",
      "aria-label": t(u.active ? "adminDisableUser" : "adminEnableUser", { name: u.username }),
      onclick: async () => {
        try {
          await change(u, { active: !u.active });
          draw();
        } catch (err) {
          say(listAlert, err);
        }
      } }, t(u.active ? "adminDisable" : "adminEnable"));
    const edit = el("button", { type: "button", class: "quiet", "aria-expanded": "false",
      "aria-label": t("adminEditUser", { name: u.username }), onclick: () => {
        if (tr.nextElementSibling?.classList.contains("admin-editor")) {
          tr.nextElementSibling.remove();
          edit.setAttribute("aria-expanded", "false");
          return;
        }
        edit.setAttribute("aria-expanded", "true");
        tr.after(editor(u, () => {
          edit.setAttribute("aria-expanded", "false");
          edit.focus();
        }));
      } }, t("adminEdit"));
    const remove = el("button", { type: "button", class: "quiet danger", "aria-label": t("adminDeleteUser", { name: u.username }),
      onclick: async () => {
        if (!window.confirm(t("adminDeleteUserConfirm", { name: u.username }))) return;
        quiet(listAlert);
        try {
          await apiJson(path("users", u.id), { method: "DELETE" });
          users = users.filter((x) => x.id !== u.id);
          if (creditsPanel.dataset.user === u.id) creditsPanel.hidden = true;
          status.textContent = t("adminUserDeleted", { name: u.username });
          draw();
        } catch (err) {
          say(listAlert, err);
        }
      } }, t("adminDelete"));
    const credits = el("button", { type: "button", class: "quiet admin-credits-button",
      "aria-label": t("adminCreditsOf", { name: u.username }), "aria-controls": "admin-credits",
      onclick: () => showCredits(u) }, t("adminCredits"));
    tr.append(
      el("td", {}, el("strong", {}, u.username), u.full_name ? el("div", { class: "admin-muted" }, u.full_name) : null),
      el("td", { class: "admin-wrap" }, u.email),
      el("td", {}, roleSelect),
      el("td", { class: "admin-tier" }, u.tier),
      el("td", {}, el("span", { class: `admin-badge ${u.active ? "ok" : "off"}` }, t(u.active ? "adminActive" : "adminDisabled"))),
      el("td", {}, limitsText(u.limits)),
      el("td", {}, u.last_login_at ? when(u.last_login_at, lang()) : t("adminNever")),
      el("td", { class: "num" }, numberText(u.token_usage)),
      el("td", {}, el("div", { class: "admin-row-actions" }, edit, credits, toggle, remove)),
    );
    return tr;
  }

  // The editor of one user, in a row of its own under theirs.
  function editor(u, closed) {
    const id = uid("user");
    const fullName = el("input", { type: "text", value: u.full_name || "" });
    const limit = (n) => el("input", { type: "text", inputmode: "numeric", value: n ?? "" });
    const hourly = limit(u.limits?.hourly);
    const daily = limit(u.limits?.daily);
    const monthly = limit(u.limits?.monthly);
    const pw = el("input", { type: "password", autocomplete: "new-password" });
    const box = alertBox();
    const tr = el("tr", { class: "admin-editor" });
    const close = () => {
      tr.remove();
      closed();
    };
    const form = el("form", { class: "admin-form", onsubmit: async (e) => {
      e.preventDefault();
      quiet(box);
      try {
        const patch = {
          full_name: fullName.value.trim() || null,
          hourly_token_limit: wholeNumber(hourly, t("adminHourly")),
          daily_token_limit: wholeNumber(daily, t("adminDaily")),
          monthly_token_limit: wholeNumber(monthly, t("adminMonthly")),
        };
        if (pw.value) patch.password = pw.value;
        await change(u, patch);
        draw();
        body.querySelector(`tr[data-user="${CSS.escape(u.username)}"] button`)?.focus();
      } catch (err) {
        if (err?.status === 401) return;
        say(box, err);
      }
    } },
    el("div", { class: "admin-fields" },
      labelled(`${id}-name`, t("adminFullName"), fullName),
      labelled(`${id}-hourly`, t("adminHourly"), hourly, t("adminLimitHint")),
      labelled(`${id}-daily`, t("adminDaily"), daily, t("adminLimitHint")),
      labelled(`${id}-monthly`, t("adminMonthly"), monthly, t("adminLimitHint")),
      labelled(`${id}-password`, t("adminNewPassword"), pw, t("adminNewPasswordHint"))),
    box,
    saveOrCancel(close));
    return editorRow(tr, form, close, 9, fullName);
  }

  // The credits panel of one user, under the list: their tier (a select of the `tiers` setting's), their balance,
  // whether billing applies to them, a form to grant or deduct credits, and the ledger, newest first. The heading
  // takes the focus when it opens; Escape or Close gives it back to the user's row.
  async function showCredits(u, focus = true) {
    quiet(listAlert);
    try {
      const [view, settings] = await Promise.all([
        apiJson(query(path("users", u.id, "credits"), { limit: LEDGER_PAGE })),
        apiJson("/api/v1/settings"),
      ]);
      drawCredits(u, view, billingOf(settings.items || []));
      if (focus) creditsPanel.querySelector("h2").focus();
    } catch (err) {
      if (err?.status === 401) return;
      say(listAlert, err);
    }
  }

  function closeCredits() {
    creditsPanel.hidden = true;
    const row = [...body.querySelectorAll("tr[data-user]")].find((r) => r.dataset.user === creditsPanel.dataset.username);
    row?.querySelector(".admin-credits-button")?.focus();
  }

  creditsPanel.addEventListener("keydown", (e) => {
    if (e.key === "Escape") closeCredits();
  });

  function drawCredits(u, view, billing) {
    const nameOf = (id) => users.find((x) => x.id === id)?.username || id;
    const title = el("h2", { id: "admin-credits-title", tabindex: "-1" }, t("adminCreditsTitle", { name: u.username }));
    const status = statusLine();
    status.id = "admin-credits-status";

    // The tier: the setting's tiers, fewest monthly credits first, and the user's own even where the setting no
    // longer has it.
    const names = Object.keys(billing.tiers)
      .sort((a, b) => (billing.tiers[a]?.monthly_credits ?? 0) - (billing.tiers[b]?.monthly_credits ?? 0) || a.localeCompare(b));
    if (!names.includes(view.tier)) names.push(view.tier);
    const tier = el("select", {}, names.map((n) => el("option", { value: n, selected: n === view.tier }, n)));
    const tierAlert = alertBox();
    const tierField = labelled("admin-credits-tier", t("adminTier"), tier, " ");
    const tierHint = tierField.querySelector(".admin-hint");
    const describeTier = () => {
      const d = billing.tiers[tier.value];
      tierHint.textContent = d
        ? t("adminTierFacts", { credits: numberText(d.monthly_credits), qpm: numberText(d.questions_per_minute), priority: d.queue_priority })
        : t("adminTierUnknown");
    };
    tier.addEventListener("change", async () => {
      quiet(tierAlert);
      status.textContent = "";
      try {
        const after = await apiJson(path("users", u.id), { method: "PATCH", json: { tier: tier.value } });
        users = users.map((x) => (x.id === u.id ? after : x));
        view.tier = after.tier;
        draw();
        status.textContent = t("adminTierChanged", { name: after.username, tier: after.tier });
      } catch (err) {
        if (err?.status === 401) return;
        tier.value = view.tier;
        say(tierAlert, err);
        tier.focus();
      }
      describeTier();
    });
    describeTier();

    // The balance and whether billing applies (and if not, why not).
    const balance = el("dd", { id: "admin-credits-balance", class: "admin-balance" });
    const applies = el("dd", { id: "admin-credits-billing" });
    const lastGrant = el("p", { class: "admin-muted" });
    function drawFacts() {
      balance.dataset.balance = view.balance;
      balance.textContent = numberText(view.balance);
      applies.dataset.applies = String(view.billing_applies);
      applies.textContent = view.billing_applies ? t("adminBillingApplies", { n: numberText(billing.perQuestion) })
        : billing.enabled && billing.adminsExempt && u.role === "admin" ? t("adminBillingExempt") : t("adminBillingOff");
      lastGrant.textContent = view.last_granted_at ? t("adminLastGrant", { when: when(view.last_granted_at, lang()) }) : "";
      lastGrant.hidden = !view.last_granted_at;
    }

    // The ledger, a page at a time.
    const ledger = el("tbody", { id: "admin-credits-ledger" });
    const more = el("button", { type: "button", class: "secondary admin-more", onclick: () => page(true) }, t("adminMore"));
    const ledgerAlert = alertBox();
    let cursor = view.next_cursor || null;
    const ledgerRow = (x) => el("tr", { "data-id": x.id, "data-kind": x.kind },
      el("td", { class: "admin-nowrap" }, el("time", { datetime: x.created_at }, when(x.created_at, lang()))),
      el("td", { class: `num ${x.amount > 0 ? "admin-plus" : "admin-minus"}` }, x.amount > 0 ? `+${numberText(x.amount)}` : numberText(x.amount)),
      el("td", { class: "num" }, numberText(x.balance_after)),
      el("td", {}, t(`creditKind_${x.kind}`)),
      el("td", { class: "admin-wrap" }, x.description || ""),
      el("td", {}, x.created_by ? nameOf(x.created_by) : t("adminSystem")));
    function drawLedger(rows, append) {
      if (append) ledger.append(...rows.map(ledgerRow));
      else ledger.replaceChildren(...(rows.length ? rows.map(ledgerRow) : [el("tr", {}, el("td", { colspan: 6 }, t("adminNoLedger")))]));
      more.hidden = !cursor;
    }
    // The first page again (after a change), or the next one.
    async function page(next) {
      quiet(ledgerAlert);
      try {
        const fresh = await apiJson(query(path("users", u.id, "credits"), { limit: LEDGER_PAGE, cursor: next ? cursor : "" }));
        Object.assign(view, { balance: fresh.balance, billing_applies: fresh.billing_applies, last_granted_at: fresh.last_granted_at });
        cursor = fresh.next_cursor || null;
        drawFacts();
        drawLedger(fresh.transactions || [], next);
      } catch (err) {
        if (err?.status === 401) return;
        say(ledgerAlert, err);
      }
    }

    // Grant or deduct: the amount is whole digits here; the API judges the rest (0, too much, below 0) and its
    // refusal is shown with what was typed kept.
    const direction = (id, value, label, checked) => {
      const radio = el("input", { type: "radio", name: "admin-credits-direction", id, value, checked });
      return { radio, label: el("label", { class: "admin-check", for: id }, radio, " ", label) };
    };
    const grant = direction("admin-credits-grant", "grant", t("adminCreditsGrant"), true);
    const deduct = direction("admin-credits-deduct", "deduct", t("adminCreditsDeduct"), false);
    const amount = el("input", { type: "text", inputmode: "numeric", autocomplete: "off", required: true, spellcheck: "false" });
    const reason = el("input", { type: "text", maxlength: 500, autocomplete: "off" });
    const box = alertBox();
    const submit = el("button", { type: "submit" });
    const submitLabel = () => {
      submit.textContent = t(deduct.radio.checked ? "adminCreditsDeductButton" : "adminCreditsGrantButton");
    };
    grant.radio.addEventListener("change", submitLabel);
    deduct.radio.addEventListener("change", submitLabel);
    submitLabel();
    const form = el("form", { id: "admin-credits-form", class: "admin-form", onsubmit: async (e) => {
      e.preventDefault();
      quiet(box);
      status.textContent = "";
      const sign = deduct.radio.checked ? -1 : 1;
      try {
        const text = amount.value.trim();
        if (!/^\d+$/.test(text)) throw new Error(t("adminCreditsAmountInvalid"));
        const n = Number(text);
        const row = await apiJson(path("users", u.id, "credits"), { method: "POST",
          json: { amount: sign * n, description: reason.value.trim() || undefined } });
        form.reset();
        submitLabel();
        await page(false);
        status.textContent = t(sign > 0 ? "adminCreditsGranted" : "adminCreditsDeducted",
          { n: numberText(n), name: u.username, balance: numberText(row.balance_after) });
        amount.focus();
      } catch (err) {
        if (err?.status === 401) return;
        say(box, err);
        if (err instanceof ApiError && err.code === "insufficient_credits") {
          box.textContent = t("adminCreditsInsufficient", { detail: err.message });
          await page(false); // the balance as it is now
        }
        amount.focus();
      }
    } },
    el("fieldset", { class: "admin-direction" }, el("legend", {}, t("adminCreditsChange")), grant.label, deduct.label),
    el("div", { class: "admin-fields" },
      labelled("admin-credits-amount", t("adminCreditsAmount"), amount, t("adminCreditsAmountHint")),
      labelled("admin-credits-reason", `${t("adminCreditsReason")} (${t("adminOptional")})`, reason, t("adminCreditsReasonHint"))),
    box,
    submit);

    drawFacts();
    drawLedger(view.transactions || [], false);
    creditsPanel.dataset.user = u.id;
    creditsPanel.dataset.username = u.username;
    creditsPanel.replaceChildren(
      title,
      el("div", { class: "admin-fields" },
        tierField,
        el("dl", { class: "admin-field admin-fact" }, el("dt", {}, t("adminBalance")), balance),
        el("dl", { class: "admin-field admin-fact" }, el("dt", {}, t("adminBilling")), applies)),
      tierAlert, lastGrant, status,
      form,
      el("h3", { id: "admin-credits-ledger-title" }, t("adminLedger")),
      ledgerAlert,
      dataTable(null, [t("adminTime"), { text: t("adminLedgerChange"), num: true }, { text: t("adminLedgerBalance"), num: true },
        t("adminLedgerKind"), t("adminReason"), t("adminLedgerBy")], ledger),
      el("div", { class: "admin-buttons" }, more,
        el("button", { type: "button", class: "secondary", onclick: closeCredits }, t("adminClose"))),
    );
    creditsPanel.hidden = false;
  }

  await reload();
}

// --- connections

async function connectionsSection(root) {
  const status = statusLine();
  const listAlert = alertBox();
  const body = el("tbody");
  const schemaPanel = el("section", { class: "admin-card admin-schema", id: "admin-schema", hidden: true, "aria-labelledby": "admin-schema-title" });
  let connections = [];

  const name = el("input", { type: "text", required: true, autocomplete: "off", maxlength: 100, spellcheck: "false" });
  const displayName = el("input", { type: "text", autocomplete: "off" });
  const url = el("input", { type: "password", required: true, autocomplete: "off", spellcheck: "false" });
  const formAlert = alertBox();
  const formStatus = statusLine();
  const formTest = el("output", { class: "admin-test" });
  const form = el("form", { id: "admin-connection-form", class: "admin-form", onsubmit: async (e) => {
    e.preventDefault();
    quiet(formAlert);
    formStatus.textContent = "";
    formTest.textContent = "";
    try {
      const created = await apiJson("/api/v1/connections", { method: "POST", json: {
        name: name.value.trim(), display_name: displayName.value.trim() || undefined, url: url.value.trim(),
      } });
      form.reset();
      formStatus.textContent = t("adminConnectionAdded", { name: created.name });
      await reload();
      // The API tests a saved connection: test it now, so a typo in the address shows at once.
      await runTest(created, formTest);
    } catch (err) {
      if (err?.status === 401) return;
      say(formAlert, err);
    }
  } },
  el("div", { class: "admin-fields" },
    labelled("admin-connection-name", t("adminName"), name, t("adminNameHint")),
    labelled("admin-connection-display", `${t("adminDisplayName")} (${t("adminOptional")})`, displayName),
    labelled("admin-connection-url", t("adminUrl"), url, t("adminUrlHint"))),
  formAlert,
  el("button", { type: "submit" }, t("adminAddConnectionButton")),
  formStatus, formTest);

  root.append(
    el("h1", {}, t("adminConnections")),
    el("section", { class: "admin-card", "aria-labelledby": "admin-add-connection" },
      el("h2", { id: "admin-add-connection" }, t("adminAddConnection")), form),
    el("section", { class: "admin-card", "aria-labelledby": "admin-connection-list" },
      el("h2", { id: "admin-connection-list" }, t("adminConnectionList")),
      listAlert, status,
      dataTable(null, [t("adminName"), t("adminEngine"), t("adminAddress"), t("adminStatus"), t("adminSchemaSynced"),
        t("adminActions")], body)),
    schemaPanel,
  );

  async function reload() {
    connections = await everything("/api/v1/connections");
    draw();
  }

  function draw() {
    body.replaceChildren(...(connections.length ? connections.map(row)
      : [el("tr", {}, el("td", { colspan: 6 }, t("adminNoConnections")))]));
  }

  async function runTest(c, out) {
    out.dataset.ok = "";
    out.textContent = t("adminTesting");
    try {
      const r = await apiJson(path("connections", c.id, "test"), { method: "POST" });
      out.dataset.ok = r.ok ? "true" : "false";
      out.textContent = r.ok
        ? t("adminTestOk", { version: r.server_version || "", ms: r.elapsed_ms })
        : t("adminTestFailed", { message: r.error?.message || r.error?.code || "", ms: r.elapsed_ms });
    } catch (err) {
      out.dataset.ok = "false";
      out.textContent = t("adminTestFailed", { message: err.message, ms: 0 });
    }
  }

  async function change(c, patch) {
    quiet(listAlert);
    status.textContent = "";
    const after = await apiJson(path("connections", c.id), { method: "PATCH", json: patch });
    connections = connections.map((x) => (x.id === c.id ? after : x));
    status.textContent = t("adminConnectionUpdated", { name: after.name });
    return after;
  }

  function row(c) {
    const tr = el("tr", { "data-name": c.name });
    const out = el("output", { class: "admin-test", "aria-live": "polite" });
    const button = (label, aria, onclick, cls) =>
      el("button", { type: "button", class: `quiet ${cls || ""}`.trim(), "aria-label": aria, onclick }, label);
    const edit = button(t("adminEdit"), t("adminEditConnection", { name: c.name }), () => {
      if (tr.nextElementSibling?.classList.contains("admin-editor")) {
        tr.nextElementSibling.remove();
        edit.setAttribute("aria-expanded", "false");
        return;
      }
      edit.setAttribute("aria-expanded", "true");
      tr.after(editor(c, () => {
        edit.setAttribute("aria-expanded", "false");
        edit.focus();
      }));
    });
    edit.setAttribute("aria-expanded", "false");
    const synced = el("td", {}, c.last_schema_sync ? when(c.last_schema_sync, lang()) : t("adminNever"));
    const markSynced = (view) => {
      if (!view.synced_at) return;
      c.last_schema_sync = view.synced_at;
      synced.textContent = when(view.synced_at, lang());
    };
    tr.append(
      el("td", {}, el("strong", {}, c.name), c.display_name && c.display_name !== c.name ? el("div", { class: "admin-muted" }, c.display_name) : null,
        c.description ? el("div", { class: "admin-muted" }, c.description) : null),
      el("td", {}, c.engine),
      el("td", { class: "admin-wrap" }, el("code", {}, c.display_url)),
      el("td", {}, el("span", { class: `admin-badge ${c.active ? "ok" : "off"}` }, t(c.active ? "adminActive" : "adminDisabled"))),
      synced,
      el("td", {}, el("div", { class: "admin-row-actions" },
        button(t("adminTest"), t("adminTestName", { name: c.name }), () => runTest(c, out), "admin-test-button"),
        button(t("adminSync"), t("adminSyncName", { name: c.name }), async () => {
          quiet(listAlert);
          try {
            const view = await apiJson(path("connections", c.id, "sync"), { method: "POST" });
            status.textContent = t("adminSynced", { name: c.name, n: view.schema?.tables?.length ?? 0 });
            markSynced(view);
            if (!schemaPanel.hidden && schemaPanel.dataset.connection === c.id) showSchema(c, view);
          } catch (err) {
            say(listAlert, err);
          }
        }),
        button(t("adminSchema"), t("adminSchemaName", { name: c.name }), async () => {
          quiet(listAlert);
          try {
            const view = await apiJson(path("connections", c.id, "schema"));
            markSynced(view);
            showSchema(c, view);
          } catch (err) {
            say(listAlert, err);
          }
        }, "admin-schema-button"),
        edit,
        button(t(c.active ? "adminDisable" : "adminEnable"), t(c.active ? "adminDisableConnection" : "adminEnableConnection", { name: c.name }),
          async () => {
            try {
              await change(c, { active: !c.active });
              draw();
            } catch (err) {
              say(listAlert, err);
            }
          }),
        button(t("adminDelete"), t("adminDeleteConnection", { name: c.name }), async () => {
          if (!window.confirm(t("adminDeleteConnectionConfirm", { name: c.name }))) return;
          quiet(listAlert);
          try {
            await apiJson(path("connections", c.id), { method: "DELETE" });
            connections = connections.filter((x) => x.id !== c.id);
            status.textContent = t("adminConnectionDeleted", { name: c.name });
            if (schemaPanel.dataset.connection === c.id) schemaPanel.hidden = true;
            draw();
          } catch (err) {
            say(listAlert, err);
          }
        }, "danger"),
        out)),
    );
    return tr;
  }

  function editor(c, closed) {
    const id = uid("connection");
    const newName = el("input", { type: "text", value: c.name, required: true, spellcheck: "false" });
    const display = el("input", { type: "text", value: c.display_name || "" });
    const description = el("input", { type: "text", value: c.description || "" });
    const newUrl = el("input", { type: "password", autocomplete: "off", spellcheck: "false" });
    const box = alertBox();
    const tr = el("tr", { class: "admin-editor" });
    const close = () => {
      tr.remove();
      closed();
    };
    const form = el("form", { class: "admin-form", onsubmit: async (e) => {
      e.preventDefault();
      quiet(box);
      const patch = {};
      if (newName.value.trim() !== c.name) patch.name = newName.value.trim();
      if (display.value.trim() !== (c.display_name || "")) patch.display_name = display.value.trim();
      if (description.value.trim() !== (c.description || "")) patch.description = description.value.trim() || null;
      if (newUrl.value.trim()) patch.url = newUrl.value.trim();
      try {
        await change(c, patch);
        draw();
        body.querySelector(`tr[data-name="${CSS.escape(patch.name || c.name)}"] button`)?.focus();
      } catch (err) {
        if (err?.status === 401) return;
        say(box, err);
      }
    } },
    el("div", { class: "admin-fields" },
      labelled(`${id}-name`, t("adminName"), newName, t("adminNameHint")),
      labelled(`${id}-display`, t("adminDisplayName"), display),
      labelled(`${id}-description`, t("adminDescription"), description),
      labelled(`${id}-url`, t("adminNewUrl"), newUrl, t("adminNewUrlHint"))),
    box,
    saveOrCancel(close));
    return editorRow(tr, form, close, 6, newName);
  }

  // The schema as synced: each table a disclosure with its columns, keys and comments.
  function showSchema(c, view) {
    const schema = view.schema || { tables: [] };
    const tables = schema.tables || [];
    // Personal data, as the server classifies it (masked in answers unless a grant unmasks it).
    const personal = new Map((view.pii || []).map((p) => [`${p.table}\u0000${p.column}`, p.kind]));
    const pii = true;
    const title = el("h2", { id: "admin-schema-title", tabindex: "-1" }, t("adminSchemaOf", { name: c.name }));
    const items = tables.map((tb) => {
      const name = tb.schema ? `${tb.schema}.${tb.name}` : tb.name;
      const refs = new Map();
      for (const fk of tb.foreign_keys || []) {
        fk.columns.forEach((col, i) => refs.set(col, t("adminReferences", { table: fk.ref_table, column: fk.ref_columns[i] ?? "" })));
      }
      const rows = tb.row_count === null || tb.row_count === undefined
        ? t("adminRowsUnknown") : t("adminTableRows", { n: numberText(tb.row_count) });
      const cols = el("tbody", {}, (tb.columns || []).map((col) => el("tr", {},
        el("th", { scope: "row" }, el("code", {}, col.name)),
        el("td", {}, col.data_type || ""),
        el("td", {}, t(col.nullable ? "adminYes" : "adminNo")),
        el("td", {}, [(tb.primary_key || []).includes(col.name) ? t("adminPrimaryKey") : null, refs.get(col.name) || null]
          .filter(Boolean).join(" · ")),
        pii ? el("td", { class: "admin-pii" }, personal.has(`${tb.name}\u0000${col.name}`)
          ? t(`adminPiiKind_${personal.get(`${tb.name}\u0000${col.name}`)}`) : "") : null,
        el("td", { class: "admin-wrap" }, col.comment || ""))));
      const headers = [t("adminColumn"), t("adminType"), t("adminNullable"), t("adminKey")];
      if (pii) headers.push(t("adminPii"));
      headers.push(t("adminComment"));
      return el("details", { class: "admin-table-schema", "data-table": name },
        el("summary", {}, t("adminTableSummary", { name, kind: t(`kind_${tb.kind || "table"}`), rows })),
        tb.comment ? el("p", { class: "admin-muted" }, tb.comment) : null,
        dataTable(null, headers, cols));
    });
    schemaPanel.dataset.connection = c.id;
    schemaPanel.replaceChildren(
      title,
      el("p", { class: "admin-muted" }, t("adminSchemaSummary", {
        version: schema.server_version || "", n: tables.length, when: when(view.synced_at, lang()) })),
      ...(items.length ? items : [el("p", {}, t("adminNoTables"))]),
      el("button", { type: "button", class: "secondary", onclick: () => {
        schemaPanel.hidden = true;
        body.querySelector(`tr[data-name="${CSS.escape(c.name)}"] .admin-schema-button`)?.focus();
      } }, t("adminCloseSchema")),
    );
    schemaPanel.hidden = false;
    title.focus();
  }

  await reload();
}

// --- permissions

async function permissionsSection(root) {
  const [connections, users] = await Promise.all([everything("/api/v1/connections"), everything("/api/v1/users")]);
  const connectionPicker = el("select", { required: true },
    el("option", { value: "" }, "—"),
    connections.map((c) => el("option", { value: c.id }, c.display_name && c.display_name !== c.name ? `${c.name} (${c.display_name})` : c.name)));
  const userPicker = el("select", { required: true },
    el("option", { value: "" }, "—"),
    users.map((u) => el("option", { value: u.id }, `${userLabel(u)} (${t(`role_${u.role}`)})`)));
  const pickAlert = alertBox();
  const grants = el("div", { class: "admin-grants" });
  const editorBox = el("div", { class: "admin-permission" });
  root.append(
    el("h1", {}, t("adminPermissions")),
    el("section", { class: "admin-card" },
      el("p", { class: "admin-muted" }, t("adminPermChoose")),
      el("div", { class: "admin-fields" },
        labelled("admin-perm-connection", t("adminPermConnection"), connectionPicker),
        labelled("admin-perm-user", t("adminPermUser"), userPicker)),
      pickAlert),
    editorBox,
    grants,
  );
  if (connections.length === 1) connectionPicker.value = connections[0].id;

  let loaded = null; // { connection, schema tables, permissions }
  let turn = 0;

  async function loadConnection() {
    quiet(pickAlert);
    const c = connections.find((x) => x.id === connectionPicker.value);
    if (!c) {
      loaded = null;
      grants.replaceChildren();
      editorBox.replaceChildren();
      return;
    }
    const mine = ++turn;
    const [view, perms] = await Promise.all([
      apiJson(path("connections", c.id, "schema")),
      apiJson(path("connections", c.id, "permissions")),
    ]);
    if (mine !== turn) return;
    const tables = (view.schema?.tables || []).map((tb) => ({ name: tb.name, qualified: tb.schema ? `${tb.schema}.${tb.name}` : tb.name, schema: tb.schema }));
    loaded = { connection: c, tables, permissions: perms.items || [] };
    drawGrants();
  }

  function drawGrants() {
    const { connection, permissions } = loaded;
    const byId = new Map(users.map((u) => [u.id, u]));
    const rows = permissions.map((p) => {
      const u = byId.get(p.user_id);
      const who = u ? u.username : p.user_id;
      return el("tr", {},
        el("th", { scope: "row" }, who),
        el("td", { class: "admin-wrap" }, p.allowed_tables === null || p.allowed_tables === undefined
          ? t("adminPermEveryTable") : p.allowed_tables.length ? p.allowed_tables.join(", ") : t("adminPermNoTable")),
        el("td", { class: "admin-wrap" }, (p.row_filters || []).map((f) => `${f.table}: ${f.condition}`).join("; ") || t("adminNone")),
        el("td", { class: "num" }, p.max_rows ?? t("adminNone")),
        el("td", { class: "num" }, p.max_seconds ?? t("adminNone")),
        el("td", {}, t(p.can_unmask ? "adminYes" : "adminNo")),
        el("td", {}, el("button", { type: "button", class: "quiet", "aria-label": t("adminPermEditFor", { user: who }), onclick: () => {
          userPicker.value = p.user_id;
          drawEditor();
          editorBox.querySelector("h2")?.focus();
        } }, t("adminEdit"))));
    });
    grants.replaceChildren(el("section", { class: "admin-card", "aria-labelledby": "admin-grants-title" },
      el("h2", { id: "admin-grants-title" }, t("adminPermGrants", { name: connection.name })),
      rows.length
        ? dataTable(null, [t("adminPermUser"), t("adminPermTables"), t("adminPermRowFilters"), { text: t("adminPermMaxRows"), num: true },
          { text: t("adminPermMaxSeconds"), num: true }, t("adminPermUnmask"), t("adminActions")], el("tbody", {}, rows))
        : el("p", {}, t("adminPermNoGrants"))));
  }

  // The grant of the chosen user on the chosen connection, as a form.
  function drawEditor() {
    const u = users.find((x) => x.id === userPicker.value);
    if (!loaded || !u) {
      editorBox.replaceChildren();
      return;
    }
    const { connection, tables } = loaded;
    const existing = loaded.permissions.find((p) => p.user_id === u.id) || null;
    const box = alertBox();
    const status = statusLine();
    const title = el("h2", { id: "admin-perm-title", tabindex: "-1" }, `${u.username} · ${connection.name}`);

    // Tables: one box each; an entry with a column list (`t(a,b)`) keeps it; entries for tables the schema lacks stay.
    const entries = new Map(); // table key -> the entry as granted
    for (const entry of existing?.allowed_tables || []) {
      const base = entry.replace(/\(.*$/s, "").trim();
      const table = tables.find((tb) => tb.qualified === base || tb.name === base);
      entries.set(table ? table.qualified : base, entry);
    }
    const every = existing ? existing.allowed_tables === null || existing.allowed_tables === undefined : false;
    const all = check("admin-perm-all", t("adminPermAllTables"), every);
    const choices = [...tables.map((tb) => tb.qualified), ...[...entries.keys()].filter((k) => !tables.some((tb) => tb.qualified === k))];
    const boxes = choices.map((key) => {
      const known = tables.some((tb) => tb.qualified === key);
      const c = check(uid("perm-table"), known ? (entries.get(key) || key) : t("adminPermNotInSchema", { name: entries.get(key) }), entries.has(key));
      c.box.name = "table";
      c.box.value = key;
      c.box.disabled = every;
      return c;
    });
    all.box.addEventListener("change", () => {
      for (const c of boxes) c.box.disabled = all.box.checked;
    });

    // Row filters and attributes: rows that can be added and removed.
    const tableNames = tables.map((tb) => tb.qualified);
    const filterList = el("ol", { class: "admin-rows" });
    function addFilter(f = { table: tableNames[0] || "", condition: "" }) {
      const n = filterList.children.length + 1;
      const options = tableNames.includes(f.table) || !f.table ? tableNames : [...tableNames, f.table];
      const table = el("select", { "aria-label": t("adminPermFilterTable", { n }), class: "admin-filter-table" },
        options.map((name) => el("option", { value: name, selected: name === f.table }, name)));
      const condition = el("input", { type: "text", value: f.condition, "aria-label": t("adminPermFilterCondition", { n }), placeholder: t("adminPermCondition"),
        class: "admin-filter-condition", spellcheck: "false" });
      const li = el("li", {}, table, condition, el("button", { type: "button", class: "quiet danger",
        "aria-label": t("adminPermRemoveFilter", { n }), onclick: () => {
          li.remove();
          addFilterButton.focus();
        } }, t("adminRemove")));
      filterList.append(li);
      return condition;
    }
    const addFilterButton = el("button", { type: "button", class: "secondary", onclick: () => addFilter().focus() }, t("adminPermAddFilter"));
    for (const f of existing?.row_filters || []) addFilter(f);

    const attributeList = el("ol", { class: "admin-rows" });
    function addAttribute(key = "", value = "") {
      const n = attributeList.children.length + 1;
      const typed = typeof value !== "string";
      const k = el("input", { type: "text", value: key, "aria-label": t("adminPermAttrName", { n }), placeholder: t("adminPermName"), class: "admin-attr-name", spellcheck: "false" });
      const v = el("input", { type: "text", value: typed ? JSON.stringify(value) : value, "aria-label": t("adminPermAttrValue", { n }), placeholder: t("adminPermValue"),
        class: "admin-attr-value", "data-typed": typed ? "1" : null });
      const li = el("li", {}, k, v, el("button", { type: "button", class: "quiet danger",
        "aria-label": t("adminPermRemoveAttribute", { n }), onclick: () => {
          li.remove();
          addAttributeButton.focus();
        } }, t("adminRemove")));
      attributeList.append(li);
      return k;
    }
    const addAttributeButton = el("button", { type: "button", class: "secondary", onclick: () => addAttribute().focus() }, t("adminPermAddAttribute"));
    for (const [k, v] of Object.entries(existing?.attributes || {})) addAttribute(k, v);

    const schemas = el("input", { type: "text", value: (existing?.allowed_schemas || []).join(", "), spellcheck: "false" });
    const showSchemas = tables.some((tb) => tb.schema) || existing?.allowed_schemas;
    const maxRows = el("input", { type: "text", inputmode: "numeric", value: existing?.max_rows ?? "" });
    const maxSeconds = el("input", { type: "text", inputmode: "numeric", value: existing?.max_seconds ?? "" });
    const canQuery = check("admin-perm-can-query", t("adminPermCanQuery"), existing ? existing.can_query : true);
    const canUnmask = check("admin-perm-can-unmask", t("adminPermCanUnmask"), existing ? existing.can_unmask : false);

    const revoke = existing ? el("button", { type: "button", class: "secondary danger", id: "admin-perm-revoke", onclick: async () => {
      if (!window.confirm(t("adminPermRevokeConfirm", { user: u.username, connection: connection.name }))) return;
      quiet(box);
      try {
        await apiJson(path("connections", connection.id, "permissions", u.id), { method: "DELETE" });
        loaded.permissions = loaded.permissions.filter((p) => p.user_id !== u.id);
        drawGrants();
        drawEditor();
        editorBox.querySelector("[role=status]").textContent = t("adminPermRevoked", { user: u.username, connection: connection.name });
      } catch (err) {
        say(box, err);
      }
    } }, t("adminPermRevoke")) : null;

    const form = el("form", { id: "admin-perm-form", class: "admin-form", onsubmit: async (e) => {
      e.preventDefault();
      quiet(box);
      status.textContent = "";
      try {
        const attributes = {};
        for (const li of attributeList.children) {
          const k = li.querySelector(".admin-attr-name").value.trim();
          const input = li.querySelector(".admin-attr-value");
          if (!k) continue;
          let value = input.value;
          if (input.dataset.typed) {
            try {
              value = JSON.parse(input.value);
            } catch (_) {
              // no longer what it was: keep it as text
            }
          }
          attributes[k] = value;
        }
        const allowed = all.box.checked ? null : boxes.filter((c) => c.box.checked).map((c) => entries.get(c.box.value) || c.box.value);
        const body = {
          can_query: canQuery.box.checked,
          allowed_schemas: schemas.value.trim() ? schemas.value.split(",").map((s) => s.trim()).filter(Boolean) : null,
          allowed_tables: allowed,
          row_filters: [...filterList.children]
            .map((li) => ({ table: li.querySelector(".admin-filter-table").value, condition: li.querySelector(".admin-filter-condition").value.trim() }))
            .filter((f) => f.condition),
          attributes,
          max_rows: wholeNumber(maxRows, t("adminPermMaxRows"), 1),
          max_seconds: wholeNumber(maxSeconds, t("adminPermMaxSeconds"), 1),
          can_unmask: canUnmask.box.checked,
        };
        const stored = await apiJson(path("connections", connection.id, "permissions", u.id), { method: "PUT", json: body });
        loaded.permissions = [...loaded.permissions.filter((p) => p.user_id !== u.id), stored];
        drawGrants();
        drawEditor();
        const list = stored.allowed_tables === null || stored.allowed_tables === undefined ? t("adminPermEveryTable")
          : stored.allowed_tables.length ? stored.allowed_tables.join(", ") : t("adminPermNoTable");
        editorBox.querySelector("[role=status]").textContent =
          t("adminPermSaved", { user: u.username, tables: list, connection: connection.name });
      } catch (err) {
        if (err?.status === 401) return;
        say(box, err);
      }
    } },
    el("p", { class: "admin-muted" }, existing ? t("adminPermSince", { when: when(existing.updated_at, lang()) })
      : t("adminPermNone", { user: u.username, connection: connection.name })),
    u.role === "admin" ? el("p", { class: "admin-muted" }, t("adminPermAdminNote", { user: u.username })) : null,
    canQuery.label,
    el("fieldset", { class: "admin-tables" }, el("legend", {}, t("adminPermTables")), all.label,
      el("div", { class: "admin-checklist" }, boxes.map((c) => c.label))),
    el("fieldset", {}, el("legend", {}, t("adminPermRowFilters")),
      el("p", { class: "admin-hint" }, t("adminPermRowFiltersHint")), filterList, addFilterButton),
    el("fieldset", {}, el("legend", {}, t("adminPermAttributes")),
      el("p", { class: "admin-hint" }, t("adminPermAttributesHint")), attributeList, addAttributeButton),
    el("div", { class: "admin-fields" },
      showSchemas ? labelled("admin-perm-schemas", t("adminPermSchemas"), schemas, t("adminPermSchemasHint")) : null,
      labelled("admin-perm-max-rows", t("adminPermMaxRows"), maxRows, t("adminPermDefaultHint")),
      labelled("admin-perm-max-seconds", t("adminPermMaxSeconds"), maxSeconds, t("adminPermDefaultHint"))),
    canUnmask.label,
    box,
    el("div", { class: "admin-buttons" }, el("button", { type: "submit" }, t("adminSave")), revoke),
    status);
    editorBox.replaceChildren(el("section", { class: "admin-card", "aria-labelledby": "admin-perm-title" }, title, form));
  }

  const onPick = async () => {
    try {
      await loadConnection();
      drawEditor();
    } catch (err) {
      if (err?.status === 401) return;
      say(pickAlert, err);
    }
  };
  connectionPicker.addEventListener("change", onPick);
  userPicker.addEventListener("change", () => drawEditor());
  await onPick();
}

// --- usage

const METRICS = {
  tokens: { label: "adminTokens", value: (r) => (r.prompt_tokens || 0) + (r.completion_tokens || 0), format: numberText, whole: true },
  cost: { label: "adminCost", value: (r) => r.cost_usd || 0, format: costText },
  questions: { label: "adminQuestions", value: (r) => r.questions || 0, format: numberText, whole: true },
};

async function usageSection(root) {
  const users = await everything("/api/v1/users");
  const names = new Map(users.map((u) => [u.id, u.username]));
  const since = el("input", { type: "date", value: utcDate(-29) });
  const until = el("input", { type: "date" });
  const who = el("select", {}, el("option", { value: "all" }, t("adminEveryone")), users.map((u) => el("option", { value: u.id }, userLabel(u))));
  const metric = el("select", { id: "admin-usage-metric" },
    Object.entries(METRICS).map(([k, m]) => el("option", { value: k }, t(m.label))));
  const box = alertBox();
  const days = el("section", { class: "admin-card", "aria-labelledby": "admin-usage-per-day" });
  const perUser = el("section", { class: "admin-card", "aria-labelledby": "admin-usage-per-user" });
  const perModel = el("section", { class: "admin-card", "aria-labelledby": "admin-usage-per-model" });
  const form = el("form", { id: "admin-usage-form", class: "admin-filters", onsubmit: (e) => {
    e.preventDefault();
    load();
  } },
  labelled("admin-usage-since", t("adminSince"), since),
  labelled("admin-usage-until", t("adminUntil"), until),
  labelled("admin-usage-user", t("adminUser"), who),
  el("button", { type: "submit" }, t("adminApply")));
  root.append(el("h1", {}, t("adminUsage")), form, box, days, perUser, perModel);
  let dayRows = [];

  async function load() {
    quiet(box);
    const params = { user_id: who.value || "all", since: since.value, until: until.value ? nextDay(until.value) : "" };
    try {
      const [d, u, m] = await Promise.all(["day", "user", "model"].map((group_by) =>
        apiJson(query("/api/v1/usage", { ...params, group_by }))));
      dayRows = d.rows || [];
      drawDays();
      drawGroup(perUser, "admin-usage-per-user", t("adminPerUser"), t("adminUser"), u.rows || [],
        (key) => names.get(key) || t("adminUnknownUser", { id: key }));
      drawGroup(perModel, "admin-usage-per-model", t("adminPerModel"), t("adminModel"), m.rows || [], (key) => key || t("adminNoModel"));
    } catch (err) {
      if (err?.status === 401) return;
      say(box, err);
    }
  }

  function drawDays() {
    const heading = el("h2", { id: "admin-usage-per-day" }, t("adminPerDay"));
    if (dayRows.length === 0) {
      days.replaceChildren(heading, el("p", {}, t("adminNoUsage")));
      return;
    }
    const m = METRICS[metric.value] || METRICS.tokens;
    const byDay = new Map(dayRows.map((r) => [r.key, r]));
    // Every day of the period, those without usage at zero (at most a year and a bit of bars).
    const first = since.value && since.value < dayRows[0].key ? since.value : dayRows[0].key;
    const lastData = dayRows[dayRows.length - 1].key;
    const lastWanted = until.value || utcDate(0);
    const last = lastWanted > lastData ? lastWanted : lastData;
    const keys = [];
    for (let d = first; d <= last && keys.length < 400; d = nextDay(d)) keys.push(d);
    const points = keys.map((k) => ({ key: k, value: byDay.has(k) ? m.value(byDay.get(k)) : 0 }));
    const label = t("adminChartLabel", { metric: t(m.label), from: keys[0], to: keys[keys.length - 1] });
    days.replaceChildren(heading,
      labelled("admin-usage-metric", t("adminMetric"), metric, null, "admin-inline-field"),
      el("figure", { class: "admin-chart" }, barChart(points, label, m.format, m.whole), el("figcaption", {}, label)),
      usageTable(t("adminPerDay"), t("adminDay"), dayRows, (k) => k));
  }

  metric.addEventListener("change", drawDays);

  function drawGroup(section, id, title, keyHeader, rows, name) {
    section.replaceChildren(el("h2", { id }, title),
      rows.length ? usageTable(title, keyHeader, rows, name) : el("p", {}, t("adminNoUsage")));
  }

  await load();
}

function usageTable(caption, keyHeader, rows, name) {
  const total = { questions: 0, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 };
  for (const r of rows) for (const k of Object.keys(total)) total[k] += r[k] || 0;
  const cells = (r) => [
    el("td", { class: "num" }, numberText(r.questions)),
    el("td", { class: "num" }, numberText(r.prompt_tokens)),
    el("td", { class: "num" }, numberText(r.completion_tokens)),
    el("td", { class: "num" }, numberText((r.prompt_tokens || 0) + (r.completion_tokens || 0))),
    el("td", { class: "num" }, costText(r.cost_usd)),
  ];
  return dataTable(caption,
    [keyHeader, { text: t("adminQuestions"), num: true }, { text: t("adminPromptTokens"), num: true },
      { text: t("adminCompletionTokens"), num: true }, { text: t("adminTokens"), num: true }, { text: t("adminCost"), num: true }],
    el("tbody", {}, rows.map((r) => el("tr", {}, el("th", { scope: "row" }, name(r.key)), cells(r)))),
    el("tfoot", {}, el("tr", {}, el("th", { scope: "row" }, t("adminTotal")), cells(total))));
}

// A bar chart drawn as SVG: one bar per point, a few grid lines, labels as text nodes. Its accessible name is
// `label`; the same numbers are in the table beside it.
const SVG_NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

// A round step of at least `x` (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten).
function niceStep(x) {
  if (!(x > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * power >= x) return m * power;
  return 10 * power;
}

function barChart(points, label, format, whole) {
  const W = 900;
  const H = 260;
  const left = 72;
  const right = 12;
  const top = 14;
  const bottom = 40;
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  // Four grid steps of a round size (whole numbers for counts) up to the highest bar or above.
  const highest = Math.max(0, ...points.map((p) => p.value));
  const step = whole ? Math.max(1, Math.ceil(niceStep(highest / 4))) : niceStep(highest / 4);
  const top_ = 4 * step;
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label, class: "admin-bars", focusable: "false" });
  chart.append(svg("title", {}, label));
  for (let i = 0; i <= 4; i++) {
    const y = top + plotH * (1 - i / 4);
    chart.append(
      svg("line", { x1: left, x2: W - right, y1: y, y2: y, class: i === 0 ? "axis" : "grid" }),
      svg("text", { x: left - 6, y: y + 4, "text-anchor": "end", class: "tick" }, format(step * i)),
    );
  }
  const slot = plotW / points.length;
  const bar = Math.max(1, Math.min(36, slot * 0.72));
  const every = Math.max(1, Math.ceil(points.length / 10));
  points.forEach((p, i) => {
    const h = (p.value / top_) * plotH;
    const x = left + i * slot + (slot - bar) / 2;
    const rect = svg("rect", { x, y: top + plotH - h, width: bar, height: Math.max(0, h), class: "bar" });
    rect.append(svg("title", {}, `${p.key}: ${format(p.value)}`));
    chart.append(rect);
    if (i % every === 0) {
      chart.append(svg("text", { x: left + i * slot + slot / 2, y: H - bottom + 16, "text-anchor": "middle", class: "tick" }, p.key.slice(5)));
    }
  });
  return chart;
}

// --- audit

const ACTIONS = ["question.ask", "auth.login", "auth.logout", "auth.refresh_reuse", "user.create", "user.update", "user.delete",
  "user.password", "api_key.create", "api_key.revoke", "connection.create", "connection.update", "connection.delete",
  "connection.sync", "permission.put", "permission.delete", "template.create", "template.verify", "template.delete",
  "setting.update"];
const RESOURCE_TYPES = ["connection", "user", "api_key", "refresh_token", "connection_permission", "query_template", "system_setting"];

async function auditSection(root) {
  const [users, connections] = await Promise.all([everything("/api/v1/users"), everything("/api/v1/connections")]);
  const names = new Map(users.map((u) => [u.id, u.username]));
  const connectionNames = new Map(connections.map((c) => [c.id, c.name]));
  // A resource by its name where it is a user, a connection or a grant (`connection/user`); else its id.
  const resourceName = (type, id) => {
    if (type === "user") return names.get(id) || id;
    if (type === "connection") return connectionNames.get(id) || id;
    if (type === "connection_permission") {
      const [c, u] = id.split("/");
      return `${connectionNames.get(c) || c} / ${names.get(u) || u}`;
    }
    return id;
  };
  const chain = el("div", { class: "admin-chain", id: "admin-audit-chain", role: "status" }, t("adminAuditChecking"));
  const recheck = el("button", { type: "button", class: "secondary", onclick: () => verify() }, t("adminAuditRecheck"));
  const who = el("select", {}, el("option", { value: "" }, t("adminAnyone")), users.map((u) => el("option", { value: u.id }, userLabel(u))));
  const action = el("input", { type: "text", list: "admin-audit-actions", spellcheck: "false", autocomplete: "off" });
  const resource = el("input", { type: "text", list: "admin-audit-resources", spellcheck: "false", autocomplete: "off" });
  const since = el("input", { type: "date" });
  const until = el("input", { type: "date" });
  const box = alertBox();
  const shown = el("p", { class: "admin-muted", role: "status" });
  const body = el("tbody");
  const more = el("button", { type: "button", class: "secondary", hidden: true, onclick: () => load(true) }, t("adminMore"));
  let cursor = null;
  let count = 0;
  const form = el("form", { id: "admin-audit-form", class: "admin-filters", onsubmit: (e) => {
    e.preventDefault();
    load(false);
  } },
  labelled("admin-audit-user", t("adminUser"), who),
  labelled("admin-audit-action", t("adminAction"), action),
  labelled("admin-audit-resource", t("adminResourceType"), resource),
  labelled("admin-audit-since", t("adminSince"), since),
  labelled("admin-audit-until", t("adminUntil"), until),
  el("div", { class: "admin-buttons" },
    el("button", { type: "submit" }, t("adminApply")),
    el("button", { type: "button", class: "secondary", onclick: () => {
      form.reset();
      load(false);
    } }, t("adminClear"))),
  el("datalist", { id: "admin-audit-actions" }, ACTIONS.map((a) => el("option", { value: a }))),
  el("datalist", { id: "admin-audit-resources" }, RESOURCE_TYPES.map((r) => el("option", { value: r }))));
  root.append(
    el("h1", {}, t("adminAudit")),
    el("div", { class: "admin-chain-row" }, chain, recheck),
    form, box, shown,
    dataTable(null, [t("adminTime"), t("adminUser"), t("adminAction"), t("adminResource"), t("adminResult"), t("adminReason"),
      t("adminIp"), t("adminChanges")], body),
    more,
  );

  async function verify() {
    chain.className = "admin-chain";
    delete chain.dataset.ok;
    chain.textContent = t("adminAuditChecking");
    try {
      const v = await apiJson("/api/v1/audit/verify");
      chain.dataset.ok = v.ok ? "true" : "false";
      chain.classList.add(v.ok ? "ok" : "broken");
      chain.textContent = v.ok ? t("adminAuditIntact", { n: numberText(v.rows) })
        : t("adminAuditBroken", { seq: v.broken_at, id: v.id || t("adminAuditMissingRow"), reason: v.reason || "" });
    } catch (err) {
      if (err?.status === 401) return;
      chain.dataset.ok = "false";
      chain.classList.add("broken");
      chain.textContent = err.message;
    }
  }

  function values(v) {
    return v === null || v === undefined ? t("adminNone") : JSON.stringify(v, null, 2);
  }

  function row(a) {
    const changes = a.old_values || a.new_values
      ? el("details", {}, el("summary", {}, t("adminChanges")),
        a.old_values ? [el("h3", {}, t("adminBefore")), el("pre", {}, values(a.old_values))] : null,
        a.new_values ? [el("h3", {}, t("adminAfter")), el("pre", {}, values(a.new_values))] : null)
      : t("adminNone");
    return el("tr", { "data-action": a.action, "data-seq": a.seq },
      el("td", { class: "admin-nowrap" }, el("time", { datetime: a.created_at }, when(a.created_at, lang()))),
      el("td", {}, a.user_id ? names.get(a.user_id) || a.user_id : t("adminSystem")),
      el("td", {}, el("code", {}, a.action)),
      el("td", { class: "admin-wrap" }, a.resource_type, a.resource_id ? el("div", { class: "admin-muted", title: a.resource_id }, resourceName(a.resource_type, a.resource_id)) : null),
      el("td", {}, el("span", { class: `admin-badge ${a.result === "success" ? "ok" : "off"}` }, t(`result_${a.result}`))),
      el("td", { class: "admin-wrap" }, a.reason || ""),
      el("td", {}, a.ip_address || ""),
      el("td", {}, changes));
  }

  async function load(append) {
    quiet(box);
    const params = {
      user_id: who.value,
      action: action.value.trim(),
      resource_type: resource.value.trim(),
      since: since.value,
      until: until.value ? nextDay(until.value) : "",
      limit: 50,
      cursor: append ? cursor : "",
    };
    try {
      const page = await apiJson(query("/api/v1/audit", params));
      const rows = (page.items || []).map(row);
      if (append) {
        body.append(...rows);
        count += rows.length;
      } else {
        body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 8 }, t("adminNoAudit")))]));
        count = rows.length;
      }
      cursor = page.next_cursor || null;
      more.hidden = !cursor;
      shown.textContent = t("adminAuditShown", { n: numberText(count) });
    } catch (err) {
      if (err?.status === 401) return;
      say(box, err);
    }
  }

  await Promise.all([verify(), load(false)]);
}

// --- settings

async function settingsSection(root) {
  const page = await apiJson("/api/v1/settings");
  const settings = page.items || [];
  const status = statusLine();
  root.append(el("h1", {}, t("adminSettings")), status);
  if (settings.length === 0) {
    root.append(el("p", {}, t("adminNoSettings")));
    return;
  }
  const categories = [...new Set(settings.map((s) => s.category || ""))].sort();
  for (const category of categories) {
    const id = uid("settings");
    const body = el("tbody", {}, settings.filter((s) => (s.category || "") === category).sort((a, b) => a.key.localeCompare(b.key)).map(row));
    root.append(el("section", { class: "admin-card", "aria-labelledby": id },
      el("h2", { id }, category || t("adminSettings")),
      dataTable(null, [t("adminSetting"), t("adminValue"), t("adminDescription"), t("adminActions")], body)));
  }

  function shownValue(s) {
    if (s.sensitive) return t("adminHidden");
    if (s.value === null || s.value === undefined) return t("adminNull");
    return typeof s.value === "string" ? s.value : JSON.stringify(s.value);
  }

  // A value that is a JSON object or list (the `tiers` setting): edited as JSON text.
  const structured = (s) => s.value !== null && typeof s.value === "object";

  // The text typed, as the value to send: the old value's kind decides (text stays text; an object or a list is read
  // as JSON, or refused here saying why; else numbers, true/false and empty-as-null are read as JSON, and anything
  // else goes as text for the server to judge).
  function parse(s, text) {
    if (typeof s.value === "string") return text;
    if (structured(s)) {
      try {
        return JSON.parse(text);
      } catch (err) {
        throw new Error(t("adminNotJson", { key: s.key, message: err.message }));
      }
    }
    const trimmed = text.trim();
    if (trimmed === "") return null;
    if (/^-?\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
    if (trimmed === "true" || trimmed === "false") return trimmed === "true";
    return text;
  }

  function row(s) {
    const tr = el("tr", { "data-key": s.key });
    const valueCell = el("td", { class: "admin-wrap admin-value" });
    const edit = el("button", { type: "button", class: "quiet", "aria-label": t("adminEditSetting", { key: s.key }), onclick: () => open() }, t("adminEdit"));
    function show() {
      valueCell.replaceChildren(el("code", {}, shownValue(s)));
      edit.hidden = false;
    }
    function open() {
      const id = uid("setting");
      const box = alertBox();
      let control;
      if (typeof s.value === "boolean") {
        control = el("select", {}, ["true", "false"].map((v) => el("option", { value: v, selected: String(s.value) === v }, v)));
      } else if (structured(s)) {
        control = el("textarea", { class: "admin-json", rows: 12, spellcheck: "false", autocomplete: "off" });
        control.value = JSON.stringify(s.value, null, 2);
      } else {
        control = el("input", { type: s.sensitive ? "password" : "text", autocomplete: "off", spellcheck: "false",
          value: s.sensitive || s.value === null ? "" : typeof s.value === "string" ? s.value : JSON.stringify(s.value) });
      }
      const close = () => {
        show();
        edit.focus();
      };
      const form = el("form", { class: "admin-inline", onsubmit: async (e) => {
        e.preventDefault();
        quiet(box);
        status.textContent = "";
        try {
          const after = await apiJson(path("settings", s.key), { method: "PUT", json: { value: parse(s, control.value) } });
          Object.assign(s, after);
          status.textContent = `${s.key}: ${t("adminSaved")}`;
          close();
        } catch (err) {
          if (err?.status === 401) return;
          say(box, err);
          control.focus();
        }
      } },
      labelled(id, t("adminValueOf", { key: s.key }), control,
        typeof s.value === "boolean" ? null : t(structured(s) ? "adminJsonHint" : "adminValueHint")),
      el("div", { class: "admin-buttons" },
        el("button", { type: "submit" }, t("adminSave")),
        el("button", { type: "button", class: "secondary", onclick: close }, t("adminCancel"))),
      box);
      form.addEventListener("keydown", (e) => {
        if (e.key === "Escape") close();
      });
      valueCell.replaceChildren(form);
      edit.hidden = true;
      control.focus();
    }
    show();
    tr.append(el("th", { scope: "row" }, el("code", {}, s.key)), valueCell, el("td", { class: "admin-wrap" }, s.description || ""),
      el("td", {}, edit));
    return tr;
  }
}
