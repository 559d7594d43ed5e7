"""Every projector by name: `python -m projections.run <name>` looks it up here."""

from projections.model import ReadModel
from projections.models.account_state import AccountStateModel
from projections.models.book import BookModel
from projections.models.fills import FillsModel
from projections.models.ledger import TransfersModel
from projections.models.markets import MarketsModel
from projections.models.orders import OrdersModel
from projections.models.receipts import ReceiptsModel
from projections.models.risk import FundingPaymentsModel, InsuranceFundModel, LiquidationsModel
from projections.models.trades import TradesModel

REGISTRY: dict[str, type[ReadModel]] = {model.name: model for model in (
    MarketsModel, TradesModel, BookModel, OrdersModel, FillsModel, AccountStateModel,
    TransfersModel, FundingPaymentsModel, LiquidationsModel, InsuranceFundModel, ReceiptsModel)}
