"""The word lists :mod:`quill.writing.stylometry` counts with: common English words
(what is not among them is an uncommon word), function words, verbs in the past tense,
and common Chinese four-character idioms."""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


COMMON = _words(
    """the of and to a in is it you that he was for on are with as i his they be at one
have this from or had by not word but what some we can out other were all there when up
use your how said an each she which do their time if will way about many then them write
would like so these her long make thing see him two has look more day could go come did
number sound no most people my over know than call first who may down side been now find
any new work part take get place made live where after back little only round man year
came show every good me give our under name very through just form sentence great think
say help low line differ turn cause much mean before move right boy old too same tell
does set three want air well also play small end put home read hand port large spell add
even land here must big high such follow act why ask men change went light kind off need
house picture try us again animal point mother world near build self earth father head
stand own page should country found answer school grow study still learn plant cover food
sun four between state keep eye never last let thought city tree cross farm hard start
might story saw far sea draw left late run don't while press close night real life few
north open seem together next white children begin got walk example ease paper group
always music those both mark often letter until mile river car feet care second book carry
took science eat room friend began idea fish mountain stop once base hear horse cut sure
watch color face wood main enough plain girl usual young ready above ever red list though
feel talk bird soon body dog family direct pose leave song measure door product black short
numeral class wind question happen complete ship area half rock order fire south problem
piece told knew pass since top whole king space heard best hour better true during hundred
five remember step early hold west ground interest reach fast verb sing listen six table
travel less morning ten simple several toward war lay against pattern slow center love
person money serve appear road map rain rule govern pull cold notice voice unit power town
fine certain fly fall lead cry dark machine note wait plan figure star box noun field rest
able pound done beauty drive stood contain front teach week final gave green oh quick
develop ocean warm free minute strong special mind behind clear tail produce fact street
inch multiply nothing course stay wheel full force blue object decide surface deep moon
island foot system busy test record boat common gold possible plane dry wonder laugh
thousand ago ran check game shape yes hot miss brought heat snow tire bring distant fill
east paint language among am is are being its it's i'm can't won't didn't doesn't isn't
into because really want going thing things lot today yesterday tomorrow maybe something
anything everything someone nobody everyone cup tea coffee window street morning evening"""
)
_STOP = _words(
    """the a an and or but of to in on at for with from by as is are was were be been am it
its this that these those i me my we us our you your he him his she her they them their
not no so if then than there here what which who when where how all any some just very
do does did have has had will would can could should may might must shall into out up
down over under about after before again also only too more most much many such own
same other each both few"""
)
_ZH_FUNCTION = set("的了是在和与也就都而及着过把被让给对从向于以之其这那我你他她它们有不没很")

IDIOMS = _words(
    """一心一意 一帆风顺 一举两得 一目了然 一见钟情 三心二意 四面八方 五颜六色 七上八下
十全十美 千方百计 万紫千红 万无一失 自言自语 自由自在 自相矛盾 半途而废 不知不觉
不可思议 不由自主 井井有条 井底之蛙 人山人海 人来人往 大街小巷 大同小异 小心翼翼
心平气和 心满意足 手忙脚乱 日新月异 日复一日 年复一年 春暖花开 秋高气爽 风和日丽
风调雨顺 花好月圆 鸟语花香 山清水秀 青山绿水 欣欣向荣 津津有味 默默无闻 滔滔不绝
兴高采烈 恍然大悟 画蛇添足 守株待兔 亡羊补牢 对牛弹琴 刻舟求剑 掩耳盗铃 杯弓蛇影
一丝不苟 全神贯注 聚精会神 废寝忘食 专心致志 坚持不懈 持之以恒 循序渐进 脚踏实地
实事求是 与众不同 独一无二 微不足道 无微不至 无影无踪 无可奈何 迫不及待 依依不舍
络绎不绝 川流不息 熙熙攘攘 热火朝天 安居乐业 丰衣足食 来之不易 历历在目 记忆犹新
物是人非 时过境迁 光阴似箭 日月如梭 岁月如歌 似水流年 细水长流 平平淡淡 从容不迫
悠然自得 怡然自得 心旷神怡 如释重负 若有所思 若无其事 恰到好处 理所当然 显而易见
众所周知 一如既往 与日俱增 层出不穷 五花八门 琳琅满目 应有尽有 各种各样 形形色色
千家万户 家家户户 一年四季 朝朝暮暮 早出晚归 披星戴月 风尘仆仆 饱经风霜"""
)

_PAST = _words(
    """was were had did said went came took made got saw knew thought told found gave left
felt kept began brought bought stood sat ran heard held met meant paid put lost sent spent
built caught taught fought wrote spoke broke chose drove rose fell ate drank sang swam
forgot became woke slept wore won led lay hid shook understood grew drew threw flew hung
stuck swung struck sold sought"""
)
_NOT_PAST = _words(
    "need feed seed speed bed red shed bleed breed indeed exceed proceed succeed hundred "
    "sacred naked wicked weed deed greed freed agreed"
)
COMMON_ADVERBS = _words("never always often still just also even already soon then")
