"""The reviewer app's words in Chinese (the default) and English, and the choice between them."""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.dom import DOMNode

LANGS = ("zh", "en")

# key → (中文, English). Binding descriptions are keyed "binding.<binding id>".
_STRINGS: dict[str, tuple[str, str]] = {
    "app.title": ("评审工作台", "Reviewer workbench"),
    "package.copied_open": (
        "此评审包是在评审程序打开时（{by}）或程序崩溃后复制的，最后一次修改可能缺失；"
        "请在原电脑上打开原评审包、正常退出后再复制",
        "This package was copied while the app had it open ({by}) or after it crashed, so the last change may be "
        "missing: open the original package in the app, quit normally, and copy it again",
    ),
    "kind.site": ("网站", "site"),
    "kind.case": ("案例", "case"),
    "kind.indicator": ("指标", "indicator"),
    "ikind.score": ("评分", "score"),
    "ikind.veto": ("否决", "veto"),
    "ikind.deduct": ("扣分", "deduct"),
    "ikind.bonus": ("加分", "bonus"),
    "status.todo": ("待评", "to do"),
    "status.in_progress": ("进行中", "in progress"),
    "status.done": ("已完成", "done"),
    "status.problem": ("有问题", "problems"),
    "all": ("全部", "all"),
    # queue
    "col.kind": ("类型", "kind"),
    "col.id": ("编号", "id"),
    "col.name": ("名称", "name"),
    "col.region": ("地区", "region"),
    "col.progress": ("进度", "progress"),
    "col.status": ("状态", "status"),
    "col.total": ("得分", "total"),
    "col.grade": ("等级", "grade"),
    "col.updated": ("更新时间", "updated"),
    "queue.summary": (
        "{round} · 评审专家 {reviewer} · {count} 个对象："
        "待评 {todo} · 进行中 {in_progress} · 已完成 {done} · 有问题 {problem}",
        "{round} · reviewer {reviewer} · {count} targets: {todo} to do · {in_progress} in progress · "
        "{done} done · {problem} with problems",
    ),
    "queue.filters": (
        "筛选 状态：{status} · 类型：{kind} · 排序：{sort}{order}",
        "filter status: {status} · kind: {kind} · sort: {sort}{order}",
    ),
    "queue.empty": ("无结果：没有符合筛选条件的对象（按 f / t 更改筛选）",
                    "no results: no target matches the filter (f / t change it)"),
    "queue.nothing_assigned": ("无结果：本评审包没有分配任何对象", "no results: this package assigns no target"),
    "sort.position": ("分配顺序", "assigned order"),
    "sort.id": ("编号", "id"),
    "sort.name": ("名称", "name"),
    "sort.region": ("地区", "region"),
    "sort.progress": ("进度", "progress"),
    "sort.total": ("得分", "total"),
    "sort.status": ("状态", "status"),
    # target screen
    "col.state": ("", ""),
    "col.code": ("代码", "code"),
    "col.indicator": ("指标", "indicator"),
    "col.ikind": ("类型", "kind"),
    "col.max": ("满分", "max"),
    "col.step": ("步长", "step"),
    "col.value": ("得分", "value"),
    "col.last": ("去年", "last yr"),
    "col.note": ("注", "n"),
    "col.remark": ("备注 / 佐证", "note / evidence"),
    "target.position": ("第 {n}/{count} 个", "{n} of {count}"),
    "target.level": ("层级", "level"),
    "target.government": ("申报单位", "government"),
    "target.area": ("领域", "area"),
    "totals.progress": ("已评 {scored}/{applicable}", "scored {scored}/{applicable}"),
    "totals.total": ("得分 {total}", "total {total}"),
    "totals.none_yet": ("得分 —   等级 —", "total —   grade —"),
    "totals.grade": ("等级 {grade}", "grade {grade}"),
    "totals.vetoed": ("否决：{label}", "vetoed: {label}"),
    "totals.past": ("{round} 年 {total}", "{round}: {total}"),
    "totals.no_past": ("无往期结果", "no past result"),
    "detail.kind": ("类型", "kind"),
    "detail.rereview": ("复核", "re-review"),
    "detail.consensus": ("汇总", "consensus"),
    "detail.spread": ("极差", "spread"),
    "detail.own": ("你", "yours"),
    "detail.keep_needs_note": ("保留原评分须填备注说明理由（m）", "keeping your value needs a note (m)"),
    "reason.disagreement": ("评分分歧", "disagreement"),
    "reason.out-of-range": ("超出范围", "out of range"),
    "reason.appeal": ("申诉", "appeal"),
    "detail.appeal": ("申诉复核", "appeal re-review"),
    "detail.published": ("公示值", "published"),
    "target.appeal": ("申诉复核", "APPEAL"),
    "target.appeal_hint": ("申诉复核：被评单位对公示结果提出了申诉，请独立评审本包中的指标（各指标上方有申诉理由）",
                           "appeal re-review: the evaluated unit appealed the published result; score these items "
                           "independently (each shows the appeal's reason)"),
    "target.rereview": ("复核", "RE-REVIEW"),
    "target.calibration": ("校准", "CALIBRATION"),
    "target.calibration_hint": ("校准对象：每位评审专家都评，用来对齐评分尺度，不计入任何结果",
                                "calibration target: every reviewer scores it to align how the indicators are "
                                "read; it counts in no result"),
    "queue.calibration": ("[校准]", "[cal.]"),
    "detail.levels": ("评分细则", "levels"),
    "detail.pick_level": ("alt+数字 选择", "alt+digit picks"),
    "entry.no_level": ("本指标没有第 {n} 档评分细则", "this indicator has no level {n}"),
    "entry.level": ("细则：{text}", "level: {text}"),
    "entry.alt_digits": ("选择第 n 档评分细则并确认", "pick the n-th scoring level and confirm"),
    "target.rereview_hint": ("争议复核：请重新审阅本包中的指标，保留原评分须填写备注",
                             "re-review: reconsider these items; keeping your value needs a note"),
    "detail.max": ("满分", "max"),
    "detail.step": ("步长", "step"),
    "detail.na_allowed": ("可填不适用", "N/A allowed"),
    "detail.current": ("当前", "current"),
    "detail.last": ("去年", "last year"),
    "detail.updated": ("更新于", "updated"),
    "detail.not_scored": ("未评", "not scored"),
    "detail.note": ("备注", "note"),
    "detail.evidence": ("佐证链接", "evidence URL"),
    "detail.note_label": ("备注 · m 编辑 · ^s 保存 · Esc 放弃", "note · m edits · ^s saves · Esc drops"),
    "detail.note_placeholder": ("备注", "note"),
    "detail.evidence_label": ("佐证链接 · l 编辑 · Enter 保存", "evidence links · l edits · Enter saves"),
    "detail.evidence_placeholder": ("https://…", "https://…"),
    "detail.deduct_hint": ("填扣除的分数（扣完为止）", "enter the points deducted (capped at the points)"),
    "detail.veto_hint": ("y 是（否决）· n 否", "y yes (vetoed) · n no"),
    "entry.prompt": ("录入", "entry"),
    "entry.hint_score": (
        "输入数值，Enter 确认并前进 · x 不适用 · Esc 取消",
        "type a value, Enter confirms and moves on · x N/A · Esc cancels",
    ),
    "entry.hint_veto": ("y 是（否决）· n 否 · x 不适用", "y yes (vetoed) · n no · x N/A"),
    "entry.saved": ("已保存 {code} {value}（{time}）", "saved {code} {value} ({time})"),
    "entry.cleared": ("已清除 {code}（{time}）", "cleared {code} ({time})"),
    "entry.note_saved": ("已保存 {code} 的{what}（{time}）", "saved the {what} of {code} ({time})"),
    "entry.undone": ("已撤销", "undone"),
    "entry.redone": ("已重做", "redone"),
    "entry.restored": ("{verb}：{code} {what}", "{verb}: {code} {what}"),
    "entry.restored_value": ("得分恢复为 {value}", "value is back to {value}"),
    "entry.restored_field": ("{what}恢复为 {value}", "{what} is back to {value}"),
    "entry.nothing_to_undo": ("没有可撤销的修改", "nothing to undo"),
    "entry.nothing_to_redo": ("没有可重做的修改", "nothing to redo"),
    "entry.all_scored": ("所有对象的所有指标都已评分", "every indicator of every target is scored"),
    "entry.empty_value": ("空", "empty"),
    "entry.first_target": ("已是第一个对象", "this is the first target"),
    "entry.last_target": ("已是最后一个对象", "this is the last target"),
    "entry.target_done": ("本对象已全部评完", "every indicator of this target is scored"),
    "entry.not_here": ("指标「{name}」不适用于本对象", "indicator {name} is not scored for this target"),
    "value.deducted": ("扣{value}", "−{value}"),
    # search
    "search.title": ("搜索", "Search"),
    "search.placeholder": (
        "网站、案例或指标：中文、拼音、首字母或代码", "site, case or indicator: Chinese, pinyin, initials or code",
    ),
    "search.loading": ("正在载入索引…", "loading the index…"),
    "search.count": ("{count} 个结果 · Enter 打开 · Esc 关闭", "{count} results · Enter opens · Esc closes"),
    "search.none": ("没有与「{query}」匹配的结果", "nothing matches {query!r}"),
    "search.nearest": ("最接近的：{names}", "nearest: {names}"),
    "search.type": ("输入以搜索 · Esc 关闭", "type to search · Esc closes"),
    "search.failed": ("无法载入搜索索引：{reason}", "cannot load the search index: {reason}"),
    # export
    "export.title": ("签名导出评分表", "Signed export of the worksheet"),
    "export.out": ("输出文件", "output file"),
    "export.key": ("私钥文件（留空用默认位置）", "secret key file (empty: the default)"),
    "export.passphrase": ("口令（留空则读取 WORKBENCH_PASSPHRASE）", "passphrase (empty: WORKBENCH_PASSPHRASE)"),
    "export.incomplete": ("允许导出未评完的评分表", "allow an incomplete worksheet"),
    "export.run": ("导出", "Export"),
    "export.cancel": ("关闭", "Close"),
    "export.running": ("正在导出并签名…", "exporting and signing…"),
    "export.done": ("已导出：{path}", "exported: {path}"),
    "export.failed": ("导出被拒绝：{reason}", "export refused: {reason}"),
    "export.need_out": ("请填写输出文件", "an output file is required"),
    "export.exists": ("{path} 已存在。覆盖它吗？", "{path} already exists. Replace it?"),
    "export.overwrite": ("覆盖 (y)", "Replace (y)"),
    "export.keep": ("取消 (n)", "Cancel (n)"),
    "export.kept": ("未导出：{path} 保持不变，可换一个文件名",
                    "not exported: {path} is unchanged; choose another name"),
    "binding.overwrite.yes": ("覆盖", "Replace"),
    "binding.overwrite.no": ("取消", "Cancel"),
    # help
    "help.title": ("按键一览", "Key bindings"),
    "help.global": ("全局", "everywhere"),
    "help.queue": ("对象列表", "queue"),
    "help.target": ("评分", "scoring"),
    "help.entry": ("录入（指标列表获得焦点时）", "entry (indicator list focused)"),
    "help.search": ("搜索", "search"),
    "help.dialogs": ("对话框（帮助、导出、覆盖确认）", "dialogs (help, export, overwrite?)"),
    "binding.indicators.down": ("下一项", "Next"),
    "binding.indicators.up": ("上一项", "Previous"),
    "binding.indicators.page_down": ("下一页", "Page down"),
    "binding.indicators.page_up": ("上一页", "Page up"),
    "binding.indicators.first": ("第一项", "First"),
    "binding.indicators.last": ("最后一项", "Last"),
    "help.keymap": (
        "按键可在 {path} 的 [keymap] 中按 id 重新指定，例如 next_target = \"ctrl+n\"",
        "remap keys by id in the [keymap] table of {path}, e.g. next_target = \"ctrl+n\"",
    ),
    "help.col.key": ("按键", "key"),
    "help.col.action": ("作用", "action"),
    "help.col.id": ("id", "id"),
    "help.close": ("Esc 或 q 关闭", "Esc or q closes"),
    "entry.digits": ("输入数值（扣分项填扣除的分数）", "type a value (a deduction: the points deducted)"),
    "entry.enter": ("确认并前进到下一项", "confirm and move on"),
    "entry.backspace": ("删除一个字符", "delete a character"),
    "entry.escape": ("取消录入（无录入时关闭详情或返回列表）",
                     "cancel the entry (none: close the details, or back to the queue)"),
    "search.keys": (
        "输入即搜索；↑↓ 选择；Enter 打开；Esc 关闭", "type to search; ↑↓ choose; Enter opens; Esc closes",
    ),
    "queue.enter": ("打开对象评分", "open the target"),
    # bindings
    "binding.quit": ("退出", "Quit"),
    "binding.help": ("帮助", "Help"),
    "binding.search": ("搜索", "Search"),
    "binding.export": ("导出", "Export"),
    "binding.queue.open": ("评分", "Score"),
    "binding.queue.sort": ("排序", "Sort"),
    "binding.queue.reverse": ("倒序", "Reverse"),
    "binding.queue.filter_status": ("状态", "Status"),
    "binding.queue.filter_kind": ("类型", "Kind"),
    "binding.veto_yes": ("是", "Yes"),
    "binding.veto_no": ("否", "No"),
    "binding.take_past": ("去年值", "Last yr"),
    "binding.next_unscored": ("未评", "Unscored"),
    "binding.redo": ("重做", "Redo"),
    "binding.save_note": ("保存备注", "Save note"),
    "binding.toggle_detail": ("详情", "Details"),
    "binding.next_indicator": ("下一项", "Next"),
    "binding.previous_indicator": ("上一项", "Previous"),
    "binding.next_target": ("下个对象", "Next target"),
    "binding.previous_target": ("上个", "Prev target"),
    "binding.not_applicable": ("不适用", "N/A"),
    "binding.clear_value": ("清除", "Clear"),
    "binding.undo": ("撤销", "Undo"),
    "binding.edit_note": ("备注", "Note"),
    "binding.edit_evidence": ("佐证", "Evidence"),
    "binding.back": ("返回列表", "Queue"),
    "binding.pick_level_1": ("细则", "Lvl"),
    **{f"binding.pick_level_{n}": (f"细则第 {n} 档", f"Level {n}") for n in range(2, 10)},
    "binding.close": ("关闭", "Close"),
    "binding.search.down": ("下一个结果", "Next result"),
    "binding.search.up": ("上一个结果", "Previous result"),
    "binding.command_palette": ("命令", "Commands"),
    "command.export": ("导出签名评分表", "Export the signed worksheet"),
    "command.help": ("按键一览", "Key bindings"),
    "command.queue": ("返回对象列表", "Back to the queue"),
    "command.open": ("打开", "open"),
    # Textual's own palette entries and themes
    "palette.placeholder": ("搜索命令、网站、案例或指标…", "search commands, sites, cases or indicators…"),
    "palette.themes": ("搜索主题…", "search themes…"),
    "system.theme": ("主题", "Theme"),
    "system.theme_help": ("更换界面配色（会记在配置文件里）", "change the colours (remembered in the config file)"),
    "system.quit": ("退出", "Quit"),
    "system.quit_help": ("立即退出评审程序（已确认的评分都已保存）", "quit now (every confirmed score is saved)"),
    "system.keys": ("按键一览", "Keys"),
    "system.keys_help": ("显示所有按键及其作用", "show every key and what it does"),
    "system.maximize": ("最大化", "Maximize"),
    "system.maximize_help": ("让当前部件占满屏幕", "let the focused widget fill the screen"),
    "system.minimize": ("还原", "Minimize"),
    "system.minimize_help": ("把最大化的部件还原", "restore the maximized widget"),
    "system.screenshot": ("截图", "Screenshot"),
    "system.screenshot_help": ("把当前屏幕保存为 SVG 图片", "save the screen as an SVG image"),
    "theme.textual-dark": ("Textual 深色", "Textual dark"),
    "theme.textual-light": ("Textual 浅色", "Textual light"),
    "theme.textual-ansi": ("终端配色（ANSI）", "Terminal colours (ANSI)"),
    "theme.named": ("{name}（{shade}）", "{name} ({shade})"),
    "theme.dark": ("深色", "dark"),
    "theme.light": ("浅色", "light"),
    # the config file
    "config.title": ("配置文件 {path}", "config file {path}"),
    "config.unknown_theme": ("未知的主题 {theme!r}，使用默认主题", "unknown theme {theme!r}: the default is used"),
    "config.unknown_binding": ("[keymap] 中的 {id!r} 不是任何按键的 id，已忽略（id 见帮助 ?）",
                               "[keymap] {id!r} is no binding's id and is ignored (ids are in the help, ?)"),
    "config.not_saved": ("无法把主题写入 {path}：{reason}", "cannot save the theme to {path}: {reason}"),
}


def resolve_lang(lang: str | None, configured: str | None = None) -> str:
    """The UI language: the explicit choice, else the user's config, else the locale (Chinese unless English)."""
    for choice in (lang, configured):
        if choice:
            choice = choice.lower()
            if choice not in LANGS:
                raise ValueError(f"不支持的界面语言 {choice!r} / unsupported UI language {choice!r} (zh | en)")
            return choice
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            return "en" if value.lower().startswith("en") else "zh"
    return "zh"


class Texts:
    """The UI strings of one language: ``texts("queue.summary", count=3)``."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._index = LANGS.index(lang)

    def __call__(self, key: str, **values: object) -> str:
        text = _STRINGS[key][self._index]
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in _STRINGS

    def message(self, text: str) -> str:
        """A core message written "中文 / English", in the UI language only (whole when it is not split so)."""
        zh, sep, en = text.partition(" / ")
        if not sep:
            return text
        return en if self.lang == "en" else zh


def localize_bindings(node: DOMNode, texts: Texts) -> None:
    """Give this node's bindings their descriptions in the UI language (looked up by binding id)."""
    for key, bindings in node._bindings.key_to_bindings.items():
        node._bindings.key_to_bindings[key] = [
            dataclasses.replace(b, description=texts(f"binding.{b.id}"))
            if b.id and texts.has(f"binding.{b.id}") else b
            for b in bindings
        ]
